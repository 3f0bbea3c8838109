import type { CacheStatus, Stamp } from '../cache';
import type { Same } from '../api-description';
import { transaction, type Queryable } from '../db';
import type { Deps } from '../deps';
import { etagOf, type IfMatch } from '../etag';
import { type AppError, limitReached, notFound, preconditionFailed } from '../errors';
import { nginxContract } from '../nginx-contract';
import { pageOf } from './cursor';
import { once, requestHash, type StoredResponse } from './idempotency';
import { listChanged, listNamespace } from './list-changed';
import * as queries from './queries';
import type { ListQuery, TodoBody, TodoPageBody } from './schema';
import { todoEtag, versionsNamed } from './versions';

export type Todo = TodoBody;
export type TodoPage = TodoPageBody;
// A column added to the rows and not to the answer's schema (or the other way) fails to compile.
const _rowsAreTodos: Same<queries.TodoRow, Todo> = true;

const missing = (): never => {
  throw notFound('There is no such todo.');
};

export async function listTodos(deps: Deps, userId: string, q: ListQuery): Promise<TodoPage> {
  // One row more than asked tells whether a next page exists.
  const rows = await queries.listTodos(deps.db, {
    userId,
    limit: q.limit + 1,
    isFinished: q.is_finished,
    after: q.cursor,
    offset: q.start,
  });
  return pageOf(rows, q.limit);
}

// `stamp`: the cache version the page belongs to, when it came through the cache.
export type RenderedPage = { body: string; etag: string; cache: CacheStatus; stamp?: Stamp };

/** The cache field of a first page, per page size and filter. */
export const firstPageField = (limit: number, isFinished?: boolean) => `first:${limit}:${isFinished ?? 'all'}`;

/**
 * A page as JSON, ready to send. First pages, the ones every client opens,
 * come from the app cache; deeper pages are cheap index scans and are not
 * cached (BYPASS).
 */
export async function renderPage(deps: Deps, userId: string, q: ListQuery): Promise<RenderedPage> {
  const render = async () => {
    const body = JSON.stringify(await listTodos(deps, userId, q));
    return { body, etag: etagOf(body) };
  };
  if (q.cursor || q.start !== undefined) return { ...(await render()), cache: 'BYPASS' };
  const { value, status, stamp } = await deps.cache.get(listNamespace(userId), firstPageField(q.limit, q.is_finished), render);
  if (!value) return { ...(await render()), cache: status };
  return { ...value, cache: status, ...(stamp && { stamp }) };
}

export async function getTodo(deps: Deps, userId: string, id: string): Promise<Todo> {
  return (await queries.getTodo(deps.db, userId, id)) ?? missing();
}

const todoLimitReached = (limit: number) =>
  limitReached(
    'todo-limit-reached',
    `This account already has ${limit.toLocaleString('en-US')} todos, the most it may have. Delete some (the finished ones, say), then add this one again.`,
  );

/** A create too near the user's limit to be checked while sharing the user's lock. */
export class TooNearToTell extends Error {}

/**
 * Inserts a todo within the user's limit (migration 004), or throws: 409 at
 * the limit; TooNearToTell when a create sharing the user's lock cannot
 * tell, and the transaction is to be made again with `alone`.
 */
export async function insert(q: Queryable, userId: string, content: string, limit: { max: number; alone: boolean }, id?: string) {
  const inserted = await queries.insertTodo(q, userId, content, limit, id);
  if (inserted === 'full') throw todoLimitReached(limit.max);
  if (inserted === 'alone') throw new TooNearToTell();
  return inserted;
}

/**
 * Runs `attempt` sharing the user's lock for the limit, and again alone if
 * that could not tell (migration 004): creates share the lock until the user
 * is near the limit.
 */
export function withinLimit<T>(attempt: (alone: boolean) => Promise<T>): Promise<T> {
  return attempt(false).catch((err: unknown) => {
    if (err instanceof TooNearToTell) return attempt(true);
    throw err;
  });
}

export async function createTodo(
  deps: Deps,
  userId: string,
  content: string,
  idempotencyKey?: string,
): Promise<StoredResponse & { replayed: boolean }> {
  const max = deps.config.perUser.todos;
  let ownerSlug: string | null = null;
  const create =
    (alone: boolean) =>
    async (q: Queryable): Promise<StoredResponse> => {
      const inserted = await insert(q, userId, content, { max, alone });
      ownerSlug = inserted.ownerSlug;
      return { status: 201, body: inserted.todo satisfies Todo, location: `/api/todos/${inserted.todo.id}` };
    };
  const result = await withinLimit(async (alone) =>
    idempotencyKey === undefined
      ? { ...(await create(alone)(deps.db)), replayed: false }
      : await once(deps, userId, idempotencyKey, requestHash('POST', '/api/todos', { content }), create(alone)),
  );
  if (!result.replayed) await listChanged(deps, userId, ownerSlug);
  return result;
}

/** The 412 of a write whose condition (in `field`) does not name `current`, the todo's version now. */
export function changedSince(current: Todo, field: string, detail?: string): AppError {
  const etag = todoEtag(current);
  return preconditionFailed(
    'todo-changed',
    detail ??
      `The todo changed since the version ${field} names (another client wrote it); nothing was written. Its current ETag is ${etag}: read it again and decide whether your change still applies.`,
    [{ field, message: 'does not name the current version of the todo', expected: `its current ETag, ${etag}` }],
    { ETag: etag },
  );
}

/**
 * Why a conditional write wrote nothing, read after it: the todo is gone
 * (404), or it is at another version than the one named (412, with its
 * current ETag). `field`: where the condition was (If-Match, if_match).
 */
async function refusal(q: Queryable, userId: string, id: string, field: string): Promise<never> {
  throw changedSince((await queries.getTodo(q, userId, id)) ?? missing(), field);
}

export type Change = { content?: string | undefined; isFinished?: boolean | undefined };

/** An update in `q` (a pool or a batch's transaction), if the todo is at a version `ifMatch` names. */
export async function update(q: Queryable, userId: string, id: string, change: Change, ifMatch: IfMatch | undefined, field = 'If-Match') {
  return (await queries.updateTodo(q, userId, id, change, versionsNamed(ifMatch))) ?? refusal(q, userId, id, field);
}

/** A delete in `q`, if the todo is at a version `ifMatch` names. */
export async function remove(q: Queryable, userId: string, id: string, ifMatch: IfMatch | undefined, field = 'If-Match') {
  return (await queries.deleteTodo(q, userId, id, versionsNamed(ifMatch))) ?? refusal(q, userId, id, field);
}

export async function updateTodo(deps: Deps, userId: string, id: string, change: Change, ifMatch?: IfMatch): Promise<Todo> {
  const { todo, ownerSlug } = await update(deps.db, userId, id, change, ifMatch);
  await listChanged(deps, userId, ownerSlug);
  return todo;
}

export async function deleteTodo(deps: Deps, userId: string, id: string, ifMatch?: IfMatch): Promise<void> {
  const { ownerSlug } = await remove(deps.db, userId, id, ifMatch);
  await listChanged(deps, userId, ownerSlug);
}

/**
 * Deletes every finished todo of the user in one statement: at most the
 * per-user limit, which bounds the statement and, for any list within the
 * limit, is all of them. At the limit (250,000) that took 1 to 2 s here,
 * too near the pool's 5 s statement timeout on a busy machine, so it gets
 * as long as a reload waits for requests in flight.
 */
export async function clearFinished(deps: Deps, userId: string): Promise<{ deleted: number; has_more: boolean }> {
  const { deleted, more, ownerSlug } = await transaction(deps.db, async (client) => {
    await client.query(`SET LOCAL statement_timeout = ${nginxContract.drainTimeoutMs}`);
    return queries.deleteFinished(client, userId, deps.config.perUser.todos);
  });
  if (deleted > 0) await listChanged(deps, userId, ownerSlug);
  return { deleted, has_more: more };
}
