import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem, tokenUser, type TestApp } from '../helpers/app';
import { countTodos, createTodo, getPage, seedTodos, startTodosApp } from '../helpers/todos';

describe("todos: one user never reaches another user's todos", () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  it("when user B reads, patches, finishes or deletes A's todo, then each is a 404 (not 403) and A's todo is untouched", async () => {
    const [a, b] = await Promise.all([tokenUser(t, 'a'), tokenUser(t, 'b')]);
    const todo = await createTodo(t, a, 'private to A');
    const path = `/api/todos/${todo.id}`;
    const attempts = [
      await t.http().get(path).set('Authorization', b.auth),
      await t.http().patch(path).set('Authorization', b.auth).send({ content: 'hijacked', is_finished: true }),
      await t.http().patch(path).set('Authorization', b.auth).type('form').send('is_finished=true'),
      await t.http().put(`${path}/finish`).set('Authorization', b.auth),
      await t.http().delete(path).set('Authorization', b.auth),
    ];
    // Compare with what a todo that does not exist at all looks like: the same.
    const ghost = await t.http().get('/api/todos/0b7e4f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b').set('Authorization', b.auth);
    const ghostBody = assertProblem(ghost, 404);
    for (const res of attempts) {
      const body = assertProblem(res, 404);
      assert.equal(body.type, ghostBody.type);
      assert.equal(body.detail, ghostBody.detail, 'a foreign todo must read the same as a missing one');
      assert.doesNotMatch(res.text, /private to A/);
    }
    const read = await t.http().get(path).set('Authorization', a.auth).expect(200);
    assert.deepEqual(read.body, todo);
    assert.equal(await countTodos(t, a.id), 1);
  });

  it("when B lists, filters or pages, then none of A's todos appear", async () => {
    const [a, b] = await Promise.all([tokenUser(t, 'a'), tokenUser(t, 'b')]);
    await seedTodos(t, a.id, 30, { finishedExpr: 'i % 2 = 0' });
    const mine = await createTodo(t, b, 'B only');
    const aIds = new Set((await t.deps.db.query<{ id: string }>('SELECT id FROM todos WHERE user_id = $1', [a.id])).rows.map((r) => r.id));
    assert.equal(aIds.size, 30);

    for (const query of <Array<Record<string, string>>>[
      {},
      { limit: '100' },
      { is_finished: 'true' },
      { is_finished: 'false', limit: '100' },
      { start: '0', limit: '100' },
    ]) {
      const page = await getPage(t, b, query);
      assert.ok(
        page.data.every((x) => !aIds.has(x.id)),
        `A's todos leaked into B's list for ${JSON.stringify(query)}`,
      );
      assert.equal(page.next_cursor, null);
    }
    assert.deepEqual(
      (await getPage(t, b, {})).data.map((x) => x.id),
      [mine.id],
    );
    assert.deepEqual((await getPage(t, b, { is_finished: 'true' })).data, []);
  });

  it("when B follows a cursor taken from A's list, then B still sees only B's todos", async () => {
    const [a, b] = await Promise.all([tokenUser(t, 'a'), tokenUser(t, 'b')]);
    await seedTodos(t, a.id, 10);
    await seedTodos(t, b.id, 3, { base: new Date(Date.now() - 48 * 3600 * 1000) }); // older than A's cursor
    const { next_cursor } = await getPage(t, a, { limit: '2' });
    assert.notEqual(next_cursor, null);
    const page = await getPage(t, b, { limit: '100', cursor: next_cursor! });
    const bIds = new Set((await t.deps.db.query<{ id: string }>('SELECT id FROM todos WHERE user_id = $1', [b.id])).rows.map((r) => r.id));
    assert.ok(page.data.length > 0 && page.data.every((x) => bIds.has(x.id)));
  });

  it('when the id is malformed, then every todo route answers a 404 problem, not 400 or 500', async () => {
    const u = await tokenUser(t);
    for (const id of [
      'not-a-uuid',
      '123',
      '0b7e4f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5',
      "1' OR '1'='1",
      '%00',
      'ZZZZZZZZ-1c3d-4e5f-8a9b-0c1d2e3f4a5b',
    ]) {
      const path = `/api/todos/${encodeURIComponent(id)}`;
      for (const res of [
        await t.http().get(path).set('Authorization', u.auth),
        await t.http().patch(path).set('Authorization', u.auth).send({ content: 'x' }),
        await t.http().put(`${path}/finish`).set('Authorization', u.auth),
        await t.http().delete(path).set('Authorization', u.auth),
      ]) {
        assert.equal(assertProblem(res, 404).type, '/problems/not-found', path);
      }
    }
  });
});
