import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { AppError, limitReached } from '../errors';
import type { ImportRecord, ImportTodo } from './import-line';

/**
 * Inserts a batch of imported todos for the user, in one statement inside
 * the caller's transaction, and says how many it created and how many it
 * skipped as imported before. A line is skipped when:
 *   - it names one of the user's own todos by id (an export imported into
 *     its own account), whatever changed since;
 *   - the user has a todo with its content and created_at (the same export
 *     with its id column taken out);
 *   - the user holds its import key already (migration 006).
 * A new todo gets a new id and the line's created_at and finished_at; a
 * finished line without a finished_at is taken as finished when it was
 * made. A line without a created_at is dated `importedAt` less one
 * millisecond per line, so the list shows it in the file's order (the first
 * line on top) however the file is batched or resumed: pass the same
 * `importedAt` (the job's creation time) for every batch of one import.
 *
 * Todos that share a created_at are listed by id, highest first, so their
 * new ids are drawn, sorted and handed out in file order: an export (newest
 * first) keeps its order in another account. That needs a batch to hold the
 * whole run of lines with one created_at, which importBatches sees to.
 *
 * A batch that would leave the user more than `limit` todos (skipped lines
 * do not count) fails whole, with an error that isTodoLimitError
 * recognises, and the caller's transaction can only roll back. The check
 * is migration 004's, made alone: a check sharing the user's lock may
 * answer "too near to tell", which would end the caller's transaction too.
 * The lock is held until the caller commits, so the user's own creates
 * wait for one batch at most.
 */
export async function insertImportBatch(
  client: pg.PoolClient,
  userId: string,
  todos: ImportTodo[],
  limit: number,
  options: { importedAt?: Date } = {},
): Promise<{ created: number; skipped: number }> {
  if (todos.length === 0) return { created: 0, skipped: 0 };
  const importedAt = (options.importedAt ?? new Date()).getTime();
  const createdAt = todos.map((t) => t.createdAt ?? new Date(importedAt - t.line));
  try {
    const { rowCount } = await client.query({
      // Prepared once per connection, like the API's create.
      name: 'insert-import-batch',
      text: `WITH setting AS (SELECT set_config('todo_stack.todo_limit', $2::text, true), set_config('todo_stack.todo_limit_alone', 'on', true)),
                  line AS (SELECT * FROM unnest($3::uuid[], $4::bytea[], $5::uuid[], $6::text[], $7::boolean[], $8::timestamptz[], $9::timestamptz[])
                                      AS l (id, import_key, source_id, content, is_finished, created_at, finished_at))
             INSERT INTO todos (id, user_id, content, is_finished, created_at, updated_at, finished_at, import_key)
             SELECT l.id, $1, l.content, l.is_finished, l.created_at,
                    greatest(now(), l.created_at, l.finished_at),
                    CASE WHEN l.is_finished THEN coalesce(l.finished_at, l.created_at) END,
                    l.import_key
               FROM line l, setting
              WHERE NOT EXISTS (SELECT FROM todos o WHERE o.id = l.source_id AND o.user_id = $1)
                AND NOT EXISTS (SELECT FROM todos o WHERE o.user_id = $1 AND o.created_at = l.created_at AND o.content = l.content)
             ON CONFLICT (user_id, import_key) WHERE import_key IS NOT NULL DO NOTHING`,
      values: [
        userId,
        limit,
        newIds(createdAt),
        todos.map((t) => t.key),
        todos.map((t) => t.sourceId),
        todos.map((t) => t.content),
        todos.map((t) => t.isFinished),
        createdAt.map((d) => d.toISOString()),
        todos.map((t) => t.finishedAt?.toISOString() ?? null),
      ],
    });
    const created = rowCount ?? 0;
    return { created, skipped: todos.length - created };
  } catch (err) {
    if (err instanceof pg.DatabaseError && err.code === 'TDFUL') throw importLimitReached(limit);
    throw err;
  }
}

const importLimitReached = (limit: number) =>
  limitReached(
    'todo-limit-reached',
    `Importing this file would give the account more than ${limit.toLocaleString('en-US')} todos, the most it may have. ` +
      'Delete some (the finished ones, say), then import the file again: the lines imported already are skipped.',
  );

/** Whether insertImportBatch failed because the user would have more todos than allowed. */
export const isTodoLimitError = (err: unknown): err is AppError => err instanceof AppError && err.code === 'todo-limit-reached';

/** Random ids; within each created_at, descending in the order given. */
function newIds(createdAt: Date[]): string[] {
  const ids = createdAt.map(() => randomUUID());
  const groups = new Map<number, number[]>();
  createdAt.forEach((d, i) => {
    const group = groups.get(d.getTime());
    if (group) group.push(i);
    else groups.set(d.getTime(), [i]);
  });
  for (const positions of groups.values()) {
    if (positions.length < 2) continue;
    // Lower-case hex compares as PostgreSQL compares uuids, byte by byte.
    const sorted = positions.map((i) => ids[i]!).sort((a, b) => (a < b ? 1 : -1));
    positions.forEach((i, k) => (ids[i] = sorted[k]!));
  }
  return ids;
}

/**
 * The records in batches of `size` (read anew for each batch, so a caller
 * may size them by how long the last one took) or a few more: a batch never ends between
 * two todos with the same created_at, so insertImportBatch can order their
 * ids (exports list them next to each other). Cut where it cuts, a resumed
 * import can start its batches after any whole batch done.
 */
export function* importBatches(records: Iterable<ImportRecord>, size: number | (() => number)): Generator<ImportRecord[]> {
  const sizeNow = typeof size === 'number' ? () => size : size;
  let batch: ImportRecord[] = [];
  // The created_at of the batch's last todo, when the line gave one.
  let lastAt: number | undefined;
  for (const record of records) {
    const ties = lastAt !== undefined && ('errors' in record || record.todo.createdAt?.getTime() === lastAt);
    if (batch.length >= sizeNow() && !ties) {
      yield batch;
      [batch, lastAt] = [[], undefined];
    }
    batch.push(record);
    if ('todo' in record) lastAt = record.todo.createdAt?.getTime();
  }
  if (batch.length > 0) yield batch;
}
