import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem, tokenUser, type TestApp } from '../helpers/app';
import { allTodoIds, assertNewestFirst, createTodo, getPage, seedTodos, startTodosApp, type TodoJson } from '../helpers/todos';

describe('todos: listing, limits, cursors, offsets and the finished filter', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  it('when a user has no todos, then the list is empty with a null next_cursor', async () => {
    const u = await tokenUser(t);
    const res = await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.deepEqual(res.body, { data: [], next_cursor: null });
  });

  it('when todos are created through the API, then the list shows them newest first', async () => {
    const u = await tokenUser(t);
    const made: TodoJson[] = [];
    for (const content of ['one', 'two', 'three']) made.push(await createTodo(t, u, content));
    const page = await getPage(t, u, {});
    assert.deepEqual(
      page.data.map((x) => x.content),
      ['three', 'two', 'one'],
    );
    assert.deepEqual(page.data, [...made].reverse());
    assert.equal(page.next_cursor, null);
  });

  it('when no limit is given, then a page has 10 todos and a cursor to the rest', async () => {
    const u = await tokenUser(t);
    await seedTodos(t, u.id, 25);
    const page = await getPage(t, u, {});
    assert.equal(page.data.length, 10);
    assert.equal(typeof page.next_cursor, 'string');
    assert.deepEqual(
      page.data.map((x) => x.content),
      Array.from({ length: 10 }, (_, i) => `seeded ${25 - i}`),
    );
  });

  it('when next_cursor is followed, then pages cover every todo once, newest first, ending with null', async () => {
    const u = await tokenUser(t);
    // Groups of three todos share a created_at, so the id must break ties.
    await seedTodos(t, u.id, 47, { msExpr: 'i / 3' });
    const seen: TodoJson[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await getPage(t, u, { limit: '7', ...(cursor && { cursor }) });
      sizes.push(page.data.length);
      seen.push(...page.data);
      if (page.next_cursor !== null) assert.match(page.next_cursor, /^[A-Za-z0-9_-]+$/, 'a cursor is URL-safe');
      cursor = page.next_cursor;
    } while (cursor !== null && sizes.length < 20);
    assert.deepEqual(sizes, [7, 7, 7, 7, 7, 7, 5]);
    assertNewestFirst(seen);
    assert.deepEqual(
      seen.map((x) => x.id),
      await allTodoIds(t, u.id),
    );
  });

  it('when the todos fill exactly one page, then next_cursor is null', async () => {
    const u = await tokenUser(t);
    await seedTodos(t, u.id, 5);
    const page = await getPage(t, u, { limit: '5' });
    assert.equal(page.data.length, 5);
    assert.equal(page.next_cursor, null);
    const bigger = await getPage(t, u, { limit: '4' });
    assert.equal(bigger.data.length, 4);
    assert.notEqual(bigger.next_cursor, null);
    const last = await getPage(t, u, { limit: '4', cursor: bigger.next_cursor! });
    assert.deepEqual(
      last.data.map((x) => x.content),
      ['seeded 1'],
    );
    assert.equal(last.next_cursor, null);
  });

  it('when limit is 1 or 100, then pages have that size', async () => {
    const u = await tokenUser(t);
    await seedTodos(t, u.id, 120);
    assert.equal((await getPage(t, u, { limit: '1' })).data.length, 1);
    const full = await getPage(t, u, { limit: '100' });
    assert.equal(full.data.length, 100);
    assertNewestFirst(full.data);
    const rest = await getPage(t, u, { limit: '100', cursor: full.next_cursor! });
    assert.equal(rest.data.length, 20);
    assert.equal(rest.next_cursor, null);
  });

  it('when limit, start, cursor or is_finished is out of range or malformed, then it is 422 naming the parameter', async () => {
    const u = await tokenUser(t);
    const cases: Array<[string, string]> = [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=-1', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=2.5', 'limit'],
      ['limit=', 'limit'],
      ['limit=1&limit=2', 'limit'],
      ['start=10001', 'start'],
      ['start=-5', 'start'],
      ['start=x', 'start'],
      ['cursor=not-a-cursor', 'cursor'],
      ['cursor=' + Buffer.from('["2024-01-01T00:00:00.000Z","x"]').toString('base64url'), 'cursor'],
      ['is_finished=yes', 'is_finished'],
      ['is_finished=1', 'is_finished'],
      ['is_finished=TRUE', 'is_finished'],
    ];
    for (const [query, field] of cases) {
      const res = await t.http().get(`/api/todos?${query}`).set('Authorization', u.auth);
      const body = assertProblem(res, 422);
      const errors = body.errors as Array<{ field: string; message: string; expected: string }>;
      assert.deepEqual(
        errors.map((e) => e.field),
        [field],
        `for ?${query}`,
      );
      assert.ok(errors[0]!.message && errors[0]!.expected, `for ?${query} the error explains itself`);
    }
  });

  it("when a cursor is forged with a time outside PostgreSQL's range, then it is 422 on cursor, not a 500", async () => {
    const u = await tokenUser(t);
    const forged = (time: string) => Buffer.from(JSON.stringify([time, '0b7e4f2a-1c3d-4e5f-8a9b-0c1d2e3f4a5b'])).toString('base64url');
    for (const time of ['-271821-04-20T00:00:00.000Z', '-100000-01-01T00:00:00.000Z']) {
      const res = await t
        .http()
        .get('/api/todos')
        .query({ cursor: forged(time) })
        .set('Authorization', u.auth);
      const body = assertProblem(res, 422);
      assert.deepEqual(
        (body.errors as Array<{ field: string }>).map((e) => e.field),
        ['cursor'],
        time,
      );
    }
  });

  it('when start is combined with cursor, then it is 422 on start', async () => {
    const u = await tokenUser(t);
    await seedTodos(t, u.id, 3);
    const { next_cursor } = await getPage(t, u, { limit: '1' });
    const res = await t.http().get('/api/todos').query({ start: '1', cursor: next_cursor! }).set('Authorization', u.auth);
    const body = assertProblem(res, 422);
    assert.deepEqual(
      (body.errors as Array<{ field: string }>).map((e) => e.field),
      ['start'],
    );
  });

  it('when start=N is given, then the page starts at the N-th newest todo and 10000 is allowed', async () => {
    const u = await tokenUser(t);
    await seedTodos(t, u.id, 30);
    const ids = await allTodoIds(t, u.id);
    const page = await getPage(t, u, { start: '12', limit: '5' });
    assert.deepEqual(
      page.data.map((x) => x.id),
      ids.slice(12, 17),
    );
    assert.notEqual(page.next_cursor, null);
    const tail = await getPage(t, u, { start: '27', limit: '5' });
    assert.deepEqual(
      tail.data.map((x) => x.id),
      ids.slice(27),
    );
    assert.equal(tail.next_cursor, null);
    assert.deepEqual(
      (await getPage(t, u, { start: '0', limit: '3' })).data.map((x) => x.id),
      ids.slice(0, 3),
    );
    assert.deepEqual(await getPage(t, u, { start: '10000' }), { data: [], next_cursor: null });
    // The cursor of an offset page continues with keyset paging where it ended.
    const next = await getPage(t, u, { limit: '5', cursor: page.next_cursor! });
    assert.deepEqual(
      next.data.map((x) => x.id),
      ids.slice(17, 22),
    );
  });

  it('when is_finished filters the list, then only matching todos appear, also across cursor and offset pages', async () => {
    const u = await tokenUser(t);
    await seedTodos(t, u.id, 40, { finishedExpr: 'i % 3 = 0' });
    const { rows } = await t.deps.db.query<{ id: string; is_finished: boolean }>(
      'SELECT id, is_finished FROM todos WHERE user_id = $1 ORDER BY created_at DESC, id DESC',
      [u.id],
    );
    const finished = rows.filter((r) => r.is_finished).map((r) => r.id);
    const open = rows.filter((r) => !r.is_finished).map((r) => r.id);
    assert.equal(finished.length, 13);

    for (const [flag, expected] of [
      ['true', finished],
      ['false', open],
    ] as const) {
      const walked: TodoJson[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await getPage(t, u, { is_finished: flag, limit: '4', ...(cursor && { cursor }) });
        walked.push(...page.data);
        cursor = page.next_cursor;
        pages++;
      } while (cursor !== null && pages < 20);
      assert.ok(walked.every((x) => x.is_finished === (flag === 'true')));
      assert.deepEqual(
        walked.map((x) => x.id),
        expected,
        `is_finished=${flag} via cursor`,
      );
    }
    const offset = await getPage(t, u, { is_finished: 'false', start: '5', limit: '6' });
    assert.deepEqual(
      offset.data.map((x) => x.id),
      open.slice(5, 11),
    );
    const lastFinished = await getPage(t, u, { is_finished: 'true', start: '10', limit: '6' });
    assert.deepEqual(
      lastFinished.data.map((x) => x.id),
      finished.slice(10),
    );
    assert.equal(lastFinished.next_cursor, null);
  });
});
