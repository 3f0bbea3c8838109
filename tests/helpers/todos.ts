import assert from 'node:assert/strict';
import type request from 'supertest';
import { startApp, type TestApp, type TokenUser } from './app';

/**
 * The app for todo tests. Users here are only fixtures, so their passwords
 * are hashed at scrypt's lowest allowed cost: many sign-ups stay cheap when
 * test files run in parallel.
 */
export const startTodosApp = () => startApp({ PASSWORD_SCRYPT_LOG_N: '10' });

// The API's JSON shapes, declared once beside the UI that reads them.
import type { Todo as TodoJson, TodoPage as PageJson } from '../../app/web/types';

export type { TodoJson, PageJson };

// ISO 8601 in UTC with exactly three fraction digits, as the spec promises.
const ISO_MS_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function assertTimestamp(value: unknown, what: string): asserts value is string {
  assert.equal(typeof value, 'string', `${what} should be a string, got ${JSON.stringify(value)}`);
  assert.match(value as string, ISO_MS_UTC, `${what} should be ISO 8601 UTC with milliseconds`);
  assert.equal(new Date(value as string).toISOString(), value, `${what} should be a real instant`);
}

/** Asserts every field of a todo: names, types, formats and the finished invariant. */
export function assertTodo(value: unknown): TodoJson {
  const todo = value as TodoJson;
  assert.deepEqual(Object.keys(todo).sort(), ['content', 'created_at', 'finished_at', 'id', 'is_finished', 'updated_at']);
  assert.match(todo.id, UUID);
  assert.equal(typeof todo.content, 'string');
  assert.equal(typeof todo.is_finished, 'boolean');
  assertTimestamp(todo.created_at, 'created_at');
  assertTimestamp(todo.updated_at, 'updated_at');
  assert.ok(todo.updated_at >= todo.created_at, 'updated_at is never before created_at');
  if (todo.is_finished) assertTimestamp(todo.finished_at, 'finished_at');
  else assert.equal(todo.finished_at, null);
  return todo;
}

export function assertJson(res: request.Response): void {
  assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
}

/** Creates a todo through the API as `u` and returns it. */
export async function createTodo(t: TestApp, u: TokenUser, content: string): Promise<TodoJson> {
  const res = await t.http().post('/api/todos').set('Authorization', u.auth).send({ content });
  assert.equal(res.status, 201, res.text);
  return assertTodo(res.body);
}

export async function getPage(t: TestApp, u: TokenUser, query: Record<string, string>): Promise<PageJson> {
  const res = await t.http().get('/api/todos').query(query).set('Authorization', u.auth);
  assert.equal(res.status, 200, res.text);
  assertJson(res);
  const page = res.body as PageJson;
  page.data.forEach(assertTodo);
  return page;
}

export async function countTodos(t: TestApp, userId: string): Promise<number> {
  const { rows } = await t.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM todos WHERE user_id = $1', [userId]);
  return rows[0]!.n;
}

/**
 * Inserts `count` todos for a user in one statement, oldest first: todo i
 * (1-based) gets `created_at = base + stepMs(i)`. Returns nothing; read the
 * rows back with SQL or the API.
 */
export async function seedTodos(
  t: TestApp,
  userId: string,
  count: number,
  opts: { base?: Date; msExpr?: string; finishedExpr?: string } = {},
): Promise<void> {
  const base = opts.base ?? new Date(Date.now() - 24 * 3600 * 1000);
  const ms = opts.msExpr ?? 'i';
  const finished = opts.finishedExpr ?? 'false';
  await t.deps.db.query(
    `INSERT INTO todos (user_id, content, is_finished, created_at, updated_at, finished_at)
     SELECT $1, 'seeded ' || i, f, at, at, CASE WHEN f THEN at END
       FROM generate_series(1, $2::int) AS i,
            LATERAL (SELECT $3::timestamptz + (${ms}) * interval '1 millisecond' AS at, (${finished}) AS f) AS x`,
    [userId, count, base],
  );
}

/** Newest first, exactly as the API must order them. */
export function compareNewestFirst(a: TodoJson, b: TodoJson): number {
  if (a.created_at !== b.created_at) return a.created_at > b.created_at ? -1 : 1;
  return a.id === b.id ? 0 : a.id > b.id ? -1 : 1;
}

export function assertNewestFirst(todos: TodoJson[]): void {
  for (let i = 1; i < todos.length; i++) {
    assert.ok(
      compareNewestFirst(todos[i - 1]!, todos[i]!) < 0,
      `todo ${i} (${todos[i]!.created_at} ${todos[i]!.id}) is not strictly older than todo ${i - 1} (${todos[i - 1]!.created_at} ${todos[i - 1]!.id})`,
    );
  }
}

/** Every todo of the user, newest first, straight from the database. */
export async function allTodoIds(t: TestApp, userId: string): Promise<string[]> {
  const { rows } = await t.deps.db.query<{ id: string }>('SELECT id FROM todos WHERE user_id = $1 ORDER BY created_at DESC, id DESC', [
    userId,
  ]);
  return rows.map((r) => r.id);
}

export { setTimeout as sleep } from 'node:timers/promises';
