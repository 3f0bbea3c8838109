import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem, signUp, startApp, tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import { countTodos, createTodo, getPage, seedTodos, startTodosApp } from '../helpers/todos';

// DELETE /api/todos?is_finished=true: every finished todo of the user, in
// one statement.

const finishedCount = async (t: TestApp, userId: string) =>
  (await t.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM todos WHERE user_id = $1 AND is_finished', [userId])).rows[0]!.n;

describe('todos: clear finished', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  const clear = (u: TokenUser, query = 'is_finished=true') => t.http().delete(`/api/todos?${query}`).set('Authorization', u.auth);

  it('when finished todos are cleared, then exactly those go, the answer says how many, and the cached list shows it at once', async () => {
    const u = await tokenUser(t);
    const other = await tokenUser(t);
    for (const owner of [u, other]) {
      for (let i = 0; i < 6; i++) {
        const todo = await createTodo(t, owner, `todo ${i}`);
        if (i % 2 === 0) await t.http().put(`/api/todos/${todo.id}/finish`).set('Authorization', owner.auth).expect(200);
      }
    }
    // The first page is in the app cache now.
    assert.equal((await getPage(t, u, {})).data.length, 6);
    const res = await clear(u).expect(200);
    assert.deepEqual(res.body, { deleted: 3, has_more: false });
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.deepEqual(
      (await getPage(t, u, {})).data.map((todo) => [todo.content, todo.is_finished]),
      [
        ['todo 5', false],
        ['todo 3', false],
        ['todo 1', false],
      ],
    );
    assert.equal(await countTodos(t, other.id), 6, "another user's todos stay");
    assert.deepEqual((await clear(u).expect(200)).body, { deleted: 0, has_more: false });
  });

  it('when the query is anything but is_finished=true, then it is a 422 that says what is expected, and nothing is deleted', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'finished');
    await t.http().put(`/api/todos/${todo.id}/finish`).set('Authorization', u.auth).expect(200);
    await createTodo(t, u, 'open');
    for (const query of [
      '',
      'is_finished=false',
      'is_finished=yes',
      'is_finished=true&is_finished=true',
      'is_finished=true&limit=5',
      'all=true',
    ]) {
      const problem = assertProblem(await clear(u, query), 422);
      assert.equal(problem.type, '/problems/validation-failed', query);
      const errors = problem.errors as Array<{ field: string; expected: string }>;
      assert.ok(errors.length > 0, query);
    }
    const [error] = assertProblem(await clear(u, 'is_finished=false'), 422).errors as Array<{
      field: string;
      message: string;
      expected: string;
    }>;
    assert.equal(error!.field, 'is_finished');
    assert.equal(error!.expected, 'true');
    assert.equal(await countTodos(t, u.id), 2);
  });

  it('when a browser session clears, then it needs its CSRF token', async () => {
    const s = await signUp(t);
    assertProblem(await t.http().delete('/api/todos?is_finished=true').set('Cookie', s.cookie), 403);
    const res = await t.http().delete('/api/todos?is_finished=true').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf).expect(200);
    assert.deepEqual(res.body, { deleted: 0, has_more: false });
    assertProblem(await t.http().delete('/api/todos?is_finished=true'), 401);
  });
});

describe('todos: clear finished is bounded by the per-user todo limit', () => {
  const LIMIT = 5;
  let t: TestApp;
  before(async () => {
    t = await startApp({ PASSWORD_SCRYPT_LOG_N: '10', TODO_LIMIT_PER_USER: String(LIMIT) });
  });
  after(() => t.close());

  it('when a user has more finished todos than the limit, then one request deletes the limit, newest first, and says more are left', async () => {
    const u = await tokenUser(t);
    // Written past the API's limit, as only a lowered limit or a direct write can.
    await seedTodos(t, u.id, LIMIT + 2, { finishedExpr: 'true' });
    await seedTodos(t, u.id, 3, { finishedExpr: 'false', base: new Date(Date.now() - 3600_000) });
    const first = await t.http().delete('/api/todos?is_finished=true').set('Authorization', u.auth).expect(200);
    assert.deepEqual(first.body, { deleted: LIMIT, has_more: true });
    const { rows } = await t.deps.db.query<{ content: string }>(
      'SELECT content FROM todos WHERE user_id = $1 AND is_finished ORDER BY created_at',
      [u.id],
    );
    assert.deepEqual(
      rows.map((r) => r.content),
      ['seeded 1', 'seeded 2'],
      'the oldest are left',
    );
    const second = await t.http().delete('/api/todos?is_finished=true').set('Authorization', u.auth).expect(200);
    assert.deepEqual(second.body, { deleted: 2, has_more: false });
    assert.equal(await finishedCount(t, u.id), 0);
    assert.equal(await countTodos(t, u.id), 3, 'open todos stay');
  });
});
