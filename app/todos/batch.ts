import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { z } from 'zod';
import { transaction, type Queryable } from '../db';
import type { Deps } from '../deps';
import { AppError } from '../errors';
import { parseInput } from '../input';
import { once, requestHash, type StoredResponse } from './idempotency';
import { listChanged } from './list-changed';
import * as queries from './queries';
import type { Written } from './queries';
import { batchBody, batchCreate, batchDelete, batchFinish, batchOperationKind, batchUpdate, type BatchOperation } from './schema';
import { changedSince, insert, remove, update, withinLimit } from './service';
import { todoEtag, versionsNamed } from './versions';

export const BATCH_PATH = '/api/todos/batch';

type Result = { status: 200 | 201; todo: Written['todo']; etag: string } | { status: 204 };

const MEMBERS = { create: batchCreate, update: batchUpdate, finish: batchFinish, delete: batchDelete } as const;

/**
 * A failure of one operation, as the whole batch's problem: its status and
 * type, its fields named within the body (operations.7.if_match), and its
 * index. Headers meant for a single todo's answer (its ETag) are left out.
 */
function inOperation(index: number, op: string | undefined, err: AppError): AppError {
  const field = (name: string) => (name === '(body)' ? `operations.${index}` : `operations.${index}.${name}`);
  return new AppError({
    status: err.status,
    code: err.code,
    title: err.title,
    detail: `Operation ${index}${op ? ` (${op})` : ''} failed, so nothing in the batch was applied: ${err.message}`,
    retryable: err.retryable,
    ...(err.errors && { errors: err.errors.map((e) => ({ ...e, field: field(e.field) })) }),
    extensions: { operation_index: index },
  });
}

/**
 * The body, parsed by batchBody. When an operation is wrong, it is parsed
 * again alone against its own kind's schema, so the problem names its index
 * and each of its fields with what was expected.
 */
export function parseBatch(body: unknown): BatchOperation[] {
  const parsed = batchBody.safeParse(body);
  if (parsed.success) return parsed.data.operations;
  const issue = parsed.error.issues.find((i) => i.path[0] === 'operations' && typeof i.path[1] === 'number');
  const operations = (body as { operations?: unknown[] } | null)?.operations;
  if (!issue || !Array.isArray(operations)) return parseInput(batchBody, body, 'body').operations;
  const index = issue.path[1] as number;
  const raw = operations[index];
  const { op } = parseOperation(batchOperationKind, raw, index, undefined);
  parseOperation(MEMBERS[op], raw, index, op);
  // Only reached if the operation passes alone; the whole body still decides.
  return parseInput(batchBody, body, 'body').operations;
}

function parseOperation<S extends z.ZodType>(schema: S, raw: unknown, index: number, op: string | undefined): z.output<S> {
  try {
    return parseInput(schema, raw, 'body');
  } catch (err) {
    throw err instanceof AppError ? inOperation(index, op, err) : err;
  }
}

// Operations on existing todos lock them first, in id order, so two batches
// (or a batch and a single write) that touch the same todos wait for each
// other instead of deadlocking.
async function lockTodos(q: Queryable, userId: string, operations: BatchOperation[]): Promise<void> {
  const ids = [...new Set(operations.flatMap((o) => (o.op === 'create' ? [] : [o.id])))];
  if (ids.length === 0) return;
  await q.query('SELECT FROM todos WHERE user_id = $1 AND id = ANY ($2::uuid[]) ORDER BY id FOR UPDATE', [userId, ids]);
}

// The creates of a batch share one created_at (the transaction's), and
// todos that share one are listed by id, highest first: ascending ids in
// operation order list a later create above an earlier one, as if made one
// after another.
function idsForCreates(operations: BatchOperation[]): string[] {
  const count = operations.filter((o) => o.op === 'create').length;
  return Array.from({ length: count }, () => randomUUID()).sort();
}

/** One operation in the batch's transaction. */
async function applyOne(
  client: PoolClient,
  userId: string,
  o: BatchOperation,
  limit: { max: number; alone: boolean },
  newId: () => string,
) {
  if (o.op === 'delete') return { ...(await remove(client, userId, o.id, o.if_match, 'if_match')), result: { status: 204 } as Result };
  const written =
    o.op === 'create'
      ? await insert(client, userId, o.content, limit, newId())
      : await update(
          client,
          userId,
          o.id,
          o.op === 'finish' ? { isFinished: true } : { content: o.content, isFinished: o.is_finished },
          o.if_match,
          'if_match',
        );
  const result: Result = { status: o.op === 'create' ? 201 : 200, todo: written.todo, etag: todoEtag(written.todo) };
  return { ownerSlug: written.ownerSlug, result };
}

// In a batch, a todo that is not there is named by its operation's id field.
const withIdField = (err: AppError) =>
  err.status !== 404
    ? err
    : new AppError({
        status: 404,
        code: err.code,
        title: err.title,
        detail: err.message,
        errors: [{ field: 'id', message: 'names none of your todos', expected: 'the id of one of your todos' }],
      });

/**
 * Applies every operation in order in one transaction, all or none: the
 * first that fails rolls all back and becomes the batch's problem. With an
 * Idempotency-Key, a retry replays the first answer (todos/idempotency.ts).
 * The list changes once, after the commit.
 */
export async function runBatch(
  deps: Deps,
  userId: string,
  operations: BatchOperation[],
  idempotencyKey?: string,
): Promise<StoredResponse & { replayed: boolean }> {
  const max = deps.config.perUser.todos;
  let ownerSlug: string | null | undefined;
  const apply =
    (alone: boolean) =>
    async (client: PoolClient): Promise<StoredResponse> => {
      await lockTodos(client, userId, operations);
      const newIds = idsForCreates(operations);
      const results: Result[] = [];
      for (const [index, o] of operations.entries()) {
        try {
          const done = await applyOne(client, userId, o, { max, alone }, () => newIds.shift()!);
          ownerSlug = done.ownerSlug;
          results.push(done.result);
        } catch (err) {
          throw err instanceof AppError ? inOperation(index, o.op, withIdField(err)) : err;
        }
      }
      return { status: 200, body: { results }, location: null };
    };
  const result = await withinLimit(async (alone) =>
    idempotencyKey === undefined
      ? { ...(await transaction(deps.db, apply(alone))), replayed: false }
      : await once(deps, userId, idempotencyKey, requestHash('POST', BATCH_PATH, operations), apply(alone)),
  ).catch(async (err: unknown) => {
    throw await asCommitted(deps, userId, operations, err);
  });
  if (!result.replayed) await listChanged(deps, userId, ownerSlug);
  return result;
}

/**
 * A 412 found inside the transaction names the todo's version there, which
 * an earlier operation may have made and the rollback undone: it is told
 * with the version committed now instead, and when that is the one the
 * operation named, as a clash within the batch.
 */
async function asCommitted(deps: Deps, userId: string, operations: BatchOperation[], err: unknown): Promise<unknown> {
  if (!(err instanceof AppError) || err.status !== 412) return err;
  const index = err.extensions.operation_index as number;
  const o = operations[index];
  if (!o || o.op === 'create') return err;
  const current = await queries.getTodo(deps.db, userId, o.id);
  if (!current) return err;
  const clash = versionsNamed(o.if_match)?.includes(current.updated_at.toISOString());
  const detail = clash
    ? `An earlier operation in this batch changes this todo, so by this operation the version its if_match names is no longer current. With nothing applied, the todo's ETag is still ${todoEtag(current)}.`
    : undefined;
  return inOperation(index, o.op, changedSince(current, 'if_match', detail));
}
