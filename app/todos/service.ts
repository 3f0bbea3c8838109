import type { CacheStatus, Stamp } from '../cache';
import type { Same } from '../api-description';
import type { Deps } from '../deps';
import { etagOf } from '../etag';
import { limitReached, notFound } from '../errors';
import { pageOf } from './cursor';
import { once, requestHash, type StoredResponse } from './idempotency';
import { listChanged, listNamespace } from './list-changed';
import * as queries from './queries';
import type { ListQuery, TodoBody, TodoPageBody } from './schema';

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
class TooNearToTell extends Error {}

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
    async (q: Parameters<typeof queries.insertTodo>[0]): Promise<StoredResponse> => {
      const inserted = await queries.insertTodo(q, userId, content, { max, alone });
      if (inserted === 'full') throw todoLimitReached(max);
      if (inserted === 'alone') throw new TooNearToTell();
      ownerSlug = inserted.ownerSlug;
      return { status: 201, body: inserted.todo satisfies Todo, location: `/api/todos/${inserted.todo.id}` };
    };
  const attempt = async (alone: boolean) =>
    idempotencyKey === undefined
      ? { ...(await create(alone)(deps.db)), replayed: false }
      : await once(deps, userId, idempotencyKey, requestHash('POST', '/api/todos', { content }), create(alone));
  // Creates share the user's lock until the user is near the limit; then one
  // is made again, alone, to be checked exactly (migration 004).
  const result = await attempt(false).catch((err: unknown) => {
    if (err instanceof TooNearToTell) return attempt(true);
    throw err;
  });
  if (!result.replayed) await listChanged(deps, userId, ownerSlug);
  return result;
}

export async function updateTodo(
  deps: Deps,
  userId: string,
  id: string,
  change: { content?: string | undefined; isFinished?: boolean | undefined },
): Promise<Todo> {
  const { todo, ownerSlug } = (await queries.updateTodo(deps.db, userId, id, change)) ?? missing();
  await listChanged(deps, userId, ownerSlug);
  return todo;
}

export async function deleteTodo(deps: Deps, userId: string, id: string): Promise<void> {
  const { ownerSlug } = (await queries.deleteTodo(deps.db, userId, id)) ?? missing();
  await listChanged(deps, userId, ownerSlug);
}
