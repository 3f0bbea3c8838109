import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type request from 'supertest';
import { assertProblem, startApp, tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import { raceAtGate } from '../helpers/race';
import { countTodos, createTodo, getPage, seedTodos } from '../helpers/todos';

const LIMIT = 5;
// Fewer than the app's 10 pooled connections: every racer reaches PostgreSQL.
const RACERS = 8;

/** Asserts the limit's problem: 409, not retryable as is, saying the limit and what to do. */
function assertLimitReachedAt(res: request.Response, limit: number): void {
  const problem = assertProblem(res, 409);
  assert.equal(problem.type, '/problems/todo-limit-reached');
  assert.equal(problem.title, 'Limit reached');
  assert.equal(problem.retryable, false);
  assert.match(String(problem.detail), new RegExp(`already has ${limit.toLocaleString('en-US')} todos`));
  assert.match(String(problem.detail), /Delete some/);
}

async function until(done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await done())) {
    assert.ok(Date.now() < deadline, 'timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The user's todo count as the database keeps it (migration 004). */
async function countedTodos(t: TestApp, userId: string): Promise<number> {
  const { rows } = await t.deps.db.query<{ n: number }>('SELECT coalesce(sum(n), 0)::int AS n FROM todo_counts WHERE user_id = $1', [
    userId,
  ]);
  return rows[0]!.n;
}

describe('todos: the most one user may have (TODO_LIMIT_PER_USER)', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ PASSWORD_SCRYPT_LOG_N: '10', TODO_LIMIT_PER_USER: String(LIMIT) });
  });
  after(() => t.close());

  const post = (u: TokenUser, content: string) => t.http().post('/api/todos').set('Authorization', u.auth).send({ content });

  const assertLimitReached = (res: request.Response) => assertLimitReachedAt(res, LIMIT);

  it('when a user has as many todos as the limit, then one more is 409 todo-limit-reached and nothing is created', async () => {
    const u = await tokenUser(t, 'todo-limit');
    for (let i = 0; i < LIMIT; i++) await createTodo(t, u, `todo ${i}`);
    const res = await post(u, 'one too many');
    assertLimitReached(res);
    assert.equal(res.headers['cache-control'], undefined, 'a problem is not stored as the answer');
    assert.equal(await countTodos(t, u.id), LIMIT);
    const page = await getPage(t, u, { limit: '10' });
    assert.ok(!page.data.some((todo) => todo.content === 'one too many'));
  });

  it('when a todo is deleted at the limit, then there is room for exactly one more', async () => {
    const u = await tokenUser(t, 'todo-limit-delete');
    const made = [];
    for (let i = 0; i < LIMIT; i++) made.push(await createTodo(t, u, `todo ${i}`));
    await t.http().delete(`/api/todos/${made[0]!.id}`).set('Authorization', u.auth).expect(204);
    await createTodo(t, u, 'in its place');
    assertLimitReached(await post(u, 'and one more'));
  });

  it('when creates race for the last place, then exactly one gets it', async () => {
    const u = await tokenUser(t, 'todo-limit-race');
    for (let i = 0; i < LIMIT - 1; i++) await createTodo(t, u, `todo ${i}`);
    const results = await raceAtGate(
      'todos',
      Array.from({ length: RACERS }, (_, i) => () => post(u, `racer ${i}`)),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, ...Array<number>(RACERS - 1).fill(409)], statuses.join(', '));
    results.filter((r) => r.status === 409).forEach(assertLimitReached);
    assert.equal(await countTodos(t, u.id), LIMIT);
  });

  it('when todos are written outside the API (seed, import), then the limit counts them too', async () => {
    const u = await tokenUser(t, 'todo-limit-sql');
    await seedTodos(t, u.id, LIMIT - 1);
    await createTodo(t, u, 'the last place');
    assertLimitReached(await post(u, 'no room'));
    await t.deps.db.query('DELETE FROM todos WHERE id IN (SELECT id FROM todos WHERE user_id = $1 LIMIT 2)', [u.id]);
    await createTodo(t, u, 'room again');
    assert.equal(await countedTodos(t, u.id), await countTodos(t, u.id));
  });

  it("when the count rises while a create far from the limit waits for the user's lock, then it is counted again alone and takes the last place", async () => {
    // Far from the limit creates share the user's lock and allow for every
    // connection's create still running; this one is found near only once
    // it has counted itself, and is made again to be checked alone.
    const { rows } = await t.deps.db.query<{ running: number }>(
      `SELECT current_setting('max_connections')::int + current_setting('max_prepared_transactions')::int - 1 AS running`,
    );
    const limit = rows[0]!.running + 10;
    const near = await startApp({ PASSWORD_SCRYPT_LOG_N: '10', TODO_LIMIT_PER_USER: String(limit) });
    const holder = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await holder.connect();
    try {
      const u = await tokenUser(near, 'todo-limit-near');
      await seedTodos(near, u.id, 5);
      // The user's lock, held alone: the create waits for it after finding room to spare.
      await holder.query('BEGIN');
      await holder.query('SELECT todo_limit_lock($1, true)', [u.id]);
      const creating = near
        .http()
        .post('/api/todos')
        .set('Authorization', u.auth)
        .send({ content: 'the last place' })
        .then((r) => r);
      await until(
        async () => (await holder.query('SELECT 1 FROM pg_locks WHERE locktype = $1 AND NOT granted', ['advisory'])).rowCount === 1,
      );
      // Meanwhile the list grows to one short of the limit (the seed is counted, not limited).
      await seedTodos(near, u.id, limit - 6);
      await holder.query('COMMIT');
      const res = await creating;
      assert.equal(res.status, 201, res.text);
      assert.equal(await countTodos(near, u.id), limit);
      assert.equal(await countedTodos(near, u.id), limit);
      assertLimitReachedAt(await near.http().post('/api/todos').set('Authorization', u.auth).send({ content: 'no room' }), limit);
    } finally {
      await holder.end();
      await near.close();
    }
  });

  it('when a create with an Idempotency-Key is refused at the limit, then the key stays unused and the same request succeeds once there is room', async () => {
    const u = await tokenUser(t, 'todo-limit-idem');
    const made = [];
    for (let i = 0; i < LIMIT; i++) made.push(await createTodo(t, u, `todo ${i}`));
    const send = () =>
      t.http().post('/api/todos').set('Authorization', u.auth).set('Idempotency-Key', 'limit-key').send({ content: 'keyed' });
    assertLimitReached(await send());
    await t.http().delete(`/api/todos/${made[0]!.id}`).set('Authorization', u.auth).expect(204);
    const created = await send();
    assert.equal(created.status, 201, created.text);
    assert.equal(created.headers['idempotent-replayed'], undefined);
    const replay = await send();
    assert.equal(replay.status, 201);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.body.id, created.body.id);
  });

  it('when one user is at the limit, then another user still creates', async () => {
    const full = await tokenUser(t, 'todo-limit-full');
    await seedTodos(t, full.id, LIMIT);
    assertLimitReached(await post(full, 'no room'));
    const other = await tokenUser(t, 'todo-limit-other');
    await createTodo(t, other, 'plenty of room');
  });
});
