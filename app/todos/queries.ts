import pg from 'pg';
import PgCursor from 'pg-cursor';
import type { Queryable } from '../db';
import type { Cursor } from './cursor';

export type TodoRow = {
  id: string;
  content: string;
  is_finished: boolean;
  created_at: Date;
  updated_at: Date;
  finished_at: Date | null;
};

const COLUMNS = 'id, content, is_finished, created_at, updated_at, finished_at';

export type ListParams = {
  userId: string;
  limit: number;
  isFinished?: boolean | undefined;
  after?: Cursor | undefined;
  offset?: number | undefined;
};

/** How every list query starts (tests count them by it). */
export const LIST_SQL_PREFIX = `SELECT /* todos.list */ ${COLUMNS} FROM todos WHERE user_id = $1`;

/**
 * Newest first. Keyset paging compares the row (created_at, id) with the
 * cursor, which the index (user_id, created_at DESC, id DESC) answers
 * directly: the cost of a page does not grow with its depth.
 */
export async function listTodos(q: Queryable, p: ListParams): Promise<TodoRow[]> {
  const values: unknown[] = [p.userId];
  const where: string[] = [];
  if (p.isFinished !== undefined) {
    values.push(p.isFinished);
    where.push(`AND is_finished = $${values.length}`);
  }
  if (p.after) {
    values.push(p.after.createdAt, p.after.id);
    where.push(`AND (created_at, id) < ($${values.length - 1}, $${values.length})`);
  }
  values.push(p.limit);
  let sql = `${LIST_SQL_PREFIX} ${where.join(' ')}
             ORDER BY created_at DESC, id DESC LIMIT $${values.length}`;
  if (p.offset) {
    values.push(p.offset);
    sql += ` OFFSET $${values.length}`;
  }
  const { rows } = await q.query<TodoRow>(sql, values);
  return rows;
}

/** A todo as the export writes it: its times already in the API's ISO 8601 form. */
export type ExportRow = Omit<TodoRow, 'created_at' | 'updated_at' | 'finished_at'> & {
  created_at: string;
  updated_at: string;
  finished_at: string | null;
};

// What Date#toISOString writes for the API's times (UTC, milliseconds). Made
// by PostgreSQL, it halved an export's time: parsing three Dates per row in
// the worker cost more than everything else together.
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS ${column}`;

/**
 * Every todo of a user, newest first, read in chunks from one statement, so
 * from one snapshot. The comment names it in pg_stat_activity. The sort
 * names the table's columns: the output's text times of the same names
 * would sort the whole list before the first row, where the index gives
 * rows at once.
 */
export const EXPORT_SQL = `/* todos export */ SELECT id, content, is_finished, ${['created_at', 'updated_at', 'finished_at'].map(iso).join(', ')}
  FROM todos t WHERE user_id = $1 ORDER BY t.created_at DESC, t.id DESC`;
export const exportCursor = (userId: string) => new PgCursor<ExportRow>(EXPORT_SQL, [userId]);

/**
 * How an export's transaction begins, in one round trip.
 * - Its own statement timeout: the pool's (seconds) would cut a client that
 *   reads slowly, as the cursor is one statement for the whole export; this
 *   one still ends an export whose client stopped reading altogether.
 * - No sort: a cursor opened through the protocol is planned for its last
 *   row, not its first, and for a user with a small share of the table
 *   PostgreSQL chose to sort the whole list before sending any of it. The
 *   walk down the list's index is the plan that streams.
 */
export const EXPORT_BEGIN = `BEGIN READ ONLY; SET LOCAL statement_timeout = '15min'; SET LOCAL enable_sort = off`;

export async function getTodo(q: Queryable, userId: string, id: string): Promise<TodoRow | undefined> {
  const { rows } = await q.query<TodoRow>(`SELECT /* todos.get */ ${COLUMNS} FROM todos WHERE id = $1 AND user_id = $2`, [id, userId]);
  return rows[0];
}

// Writes also return the owner's public slug, so the service can purge the
// public page without another round trip.
export type Written = { todo: TodoRow; ownerSlug: string | null };
type WrittenRow = TodoRow & { owner_slug: string | null };
const written = ({ owner_slug, ...todo }: WrittenRow): Written => ({ todo, ownerSlug: owner_slug });

// How the database refuses a create at the per-user limit (migration 004):
// the user is full, or too near the limit for a create that shares the
// user's lock to tell; made again alone, it is checked exactly.
const LIMIT_REFUSALS: Record<string, 'full' | 'alone'> = { TDFUL: 'full', TDALN: 'alone' };

/**
 * Inserts a todo unless that would give the user more than `limit.max`.
 * Migration 004's trigger checks, with the limit (and whether to check
 * alone) this statement sets for its transaction.
 */
export async function insertTodo(
  q: Queryable,
  userId: string,
  content: string,
  limit: { max: number; alone: boolean },
  id?: string,
): Promise<Written | 'full' | 'alone'> {
  try {
    const { rows } = await q.query<WrittenRow>({
      // Prepared once per connection: parsing and planning this statement
      // took more of PostgreSQL's time than running it. `id`: a batch's
      // creates share one created_at and are listed by id, so it hands
      // them out in order.
      name: 'insert-todo',
      text: `WITH setting AS (SELECT set_config('todo_stack.todo_limit', $3::text, true), set_config('todo_stack.todo_limit_alone', $4, true)),
                  t AS (INSERT INTO todos (id, user_id, content) SELECT coalesce($5::uuid, gen_random_uuid()), $1, $2 FROM setting RETURNING ${COLUMNS})
             SELECT t.*, u.public_slug AS owner_slug FROM t JOIN users u ON u.id = $1`,
      values: [userId, content, limit.max, limit.alone ? 'on' : 'off', id ?? null],
    });
    return written(rows[0]!);
  } catch (err) {
    const refusal = err instanceof pg.DatabaseError ? LIMIT_REFUSALS[err.code ?? ''] : undefined;
    if (refusal) return refusal;
    throw err;
  }
}

/**
 * Finishing keeps the first finished_at; unfinishing clears it. updated_at
 * moves forward by at least a millisecond on every write, even two in one
 * transaction (a batch) or within one millisecond: it is the todo's ETag
 * (versions.ts). `versions`: the write happens only if updated_at is one of
 * these (If-Match), checked in the same statement, so of two writers that
 * name the same version exactly one gets it.
 */
export async function updateTodo(
  q: Queryable,
  userId: string,
  id: string,
  change: { content?: string | undefined; isFinished?: boolean | undefined },
  versions?: string[],
): Promise<Written | undefined> {
  const { rows } = await q.query<WrittenRow>(
    `WITH t AS (UPDATE todos SET
       content = COALESCE($3, content),
       is_finished = COALESCE($4, is_finished),
       finished_at = CASE
         WHEN $4::boolean IS NULL THEN finished_at
         WHEN $4 THEN COALESCE(finished_at, now())
         ELSE NULL
       END,
       updated_at = greatest(now(), updated_at + interval '1 millisecond')
     WHERE id = $1 AND user_id = $2 AND ($5::timestamptz[] IS NULL OR updated_at = ANY ($5))
     RETURNING ${COLUMNS})
     SELECT t.*, u.public_slug AS owner_slug FROM t JOIN users u ON u.id = $2`,
    [id, userId, change.content ?? null, change.isFinished ?? null, versions ?? null],
  );
  return rows[0] && written(rows[0]);
}

/** Undefined when no todo was deleted (none, or not that version); else the owner's public slug. */
export async function deleteTodo(
  q: Queryable,
  userId: string,
  id: string,
  versions?: string[],
): Promise<{ ownerSlug: string | null } | undefined> {
  const { rows } = await q.query<{ owner_slug: string | null }>(
    `WITH d AS (DELETE FROM todos WHERE id = $1 AND user_id = $2 AND ($3::timestamptz[] IS NULL OR updated_at = ANY ($3)) RETURNING user_id)
     SELECT u.public_slug AS owner_slug FROM d JOIN users u ON u.id = d.user_id`,
    [id, userId, versions ?? null],
  );
  return rows[0] && { ownerSlug: rows[0].owner_slug };
}

/**
 * Deletes up to `max` of the user's finished todos, newest first, in one
 * statement, so all at once or none; `more`: whether finished ones are left
 * (only a user over the per-user limit, which `max` is, can have more). The
 * newest `max` are those at or above the max-th one (`edge`, one index
 * walk); the DELETE rechecks is_finished, so a todo reopened meanwhile
 * stays. A LIMIT inside the DELETE took twice as long for 250,000.
 */
export async function deleteFinished(
  q: Queryable,
  userId: string,
  max: number,
): Promise<{ deleted: number; more: boolean; ownerSlug: string | null }> {
  const { rows } = await q.query<{ deleted: number; more: boolean; owner_slug: string | null }>(
    `WITH edge AS (SELECT created_at, id FROM todos WHERE user_id = $1 AND is_finished
                    ORDER BY created_at DESC, id DESC OFFSET $2::int - 1 LIMIT 2),
          d AS (DELETE FROM todos t WHERE user_id = $1 AND is_finished
                  AND NOT EXISTS (SELECT FROM (SELECT * FROM edge ORDER BY created_at DESC, id DESC LIMIT 1) e
                                   WHERE (t.created_at, t.id) < (e.created_at, e.id))
                RETURNING 1)
     SELECT (SELECT count(*)::int FROM d) AS deleted, (SELECT count(*) FROM edge) > 1 AS more,
            (SELECT public_slug FROM users WHERE id = $1) AS owner_slug`,
    [userId, max],
  );
  const row = rows[0]!;
  return { deleted: row.deleted, more: row.more, ownerSlug: row.owner_slug };
}
