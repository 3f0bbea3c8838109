import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type request from 'supertest';
import { nginxContract } from '../../app/nginx-contract';
import { listNamespace } from '../../app/todos/list-changed';
import { assertProblem, signUp, startApp, tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import { allTodoIds, assertTodo, countTodos, createTodo, getPage, startTodosApp, type TodoJson } from '../helpers/todos';

// POST /api/todos/batch: up to 100 operations in one transaction, all or
// none, one result per operation.

type Result = { status: number; todo?: TodoJson; etag?: string };

/** The batch's problem for its failing operation: the operation's status and type, its index, its field. */
function assertOperationFailed(res: request.Response, status: number, index: number, field: string): Record<string, unknown> {
  const problem = assertProblem(res, status);
  assert.equal(problem.operation_index, index);
  assert.equal(problem.retryable, false);
  assert.match(String(problem.detail), new RegExp(`^Operation ${index} (\\(\\w+\\) )?failed, so nothing in the batch was applied: `));
  const errors = (problem.errors ?? []) as Array<{ field: string; message: string; expected: string }>;
  assert.ok(
    errors.some((e) => e.field === field && e.message && e.expected),
    `an error for ${field}: ${JSON.stringify(errors)}`,
  );
  return problem;
}

describe('todos: POST /api/todos/batch', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  const batch = (u: TokenUser, operations: unknown, key?: string) => {
    const req = t.http().post('/api/todos/batch').set('Authorization', u.auth);
    if (key) req.set('Idempotency-Key', key);
    return req.send({ operations });
  };
  const etagOf = (todo: TodoJson) => `"${todo.updated_at}"`;

  it('when a batch creates, updates, finishes and deletes, then each result comes in order with the todo and its new ETag', async () => {
    const u = await tokenUser(t);
    const [a, b, c] = [await createTodo(t, u, 'a'), await createTodo(t, u, 'b'), await createTodo(t, u, 'c')];
    const res = await batch(u, [
      { op: 'create', content: '  first new  ' },
      { op: 'update', id: a.id, content: 'a, edited', if_match: etagOf(a) },
      { op: 'finish', id: b.id },
      { op: 'delete', id: c.id, if_match: etagOf(c) },
      { op: 'create', content: 'second new' },
      { op: 'update', id: b.id, is_finished: false },
    ]);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers['cache-control'], 'no-store');
    const results = (res.body as { results: Result[] }).results;
    assert.deepEqual(
      results.map((r) => r.status),
      [201, 200, 200, 204, 201, 200],
    );
    for (const r of results) {
      if (r.status === 204) assert.deepEqual(r, { status: 204 });
      else assert.equal(r.etag, etagOf(assertTodo(r.todo)));
    }
    assert.equal(results[0]!.todo!.content, 'first new');
    assert.equal(results[1]!.todo!.content, 'a, edited');
    assert.equal(results[2]!.todo!.is_finished, true);
    assert.equal(results[5]!.todo!.is_finished, false);
    assert.notEqual(results[5]!.etag, results[2]!.etag, 'two writes of one todo in one transaction: two versions');
    // Creates of one batch list in their order: the later one on top.
    const page = await getPage(t, u, { limit: '10' });
    assert.deepEqual(
      page.data.map((todo) => todo.content),
      ['second new', 'first new', 'b', 'a, edited'],
    );
    const { body } = await t.http().get(`/api/todos/${b.id}`).set('Authorization', u.auth).expect(200);
    assert.deepEqual(body, results[5]!.todo);
  });

  it('when the 50th operation fails its if_match, then nothing of the first 49 is applied, and the problem names operation 49', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'kept as it was');
    const stale = etagOf(todo);
    await t.http().patch(`/api/todos/${todo.id}`).set('Authorization', u.auth).send({ content: 'changed elsewhere' }).expect(200);
    const current = (await t.http().get(`/api/todos/${todo.id}`).set('Authorization', u.auth)).body as TodoJson;
    const operations = [
      ...Array.from({ length: 48 }, (_, i) => ({ op: 'create', content: `created ${i}` })),
      { op: 'update', id: todo.id, content: 'edited by the batch' },
      { op: 'delete', id: todo.id, if_match: stale },
    ];
    const res = await batch(u, operations);
    const problem = assertOperationFailed(res, 412, 49, 'operations.49.if_match');
    assert.equal(problem.type, '/problems/todo-changed');
    assert.equal(res.headers.etag, undefined, 'a batch has no ETag of its own');
    assert.deepEqual(problem.errors, [
      {
        field: 'operations.49.if_match',
        message: 'does not name the current version of the todo',
        expected: `its current ETag, ${etagOf(current)}`,
      },
    ]);
    assert.deepEqual(await allTodoIds(t, u.id), [todo.id], 'no create is left');
    const { rows } = await t.deps.db.query<{ content: string; updated_at: Date }>('SELECT content, updated_at FROM todos WHERE id = $1', [
      todo.id,
    ]);
    assert.equal(rows[0]!.content, 'changed elsewhere', 'the 49th operation was rolled back');
    assert.equal(rows[0]!.updated_at.toISOString(), current.updated_at);
  });

  it('when two operations name the same version of one todo, then the second fails as a clash within the batch', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'twice');
    const res = await batch(u, [
      { op: 'update', id: todo.id, content: 'first', if_match: etagOf(todo) },
      { op: 'finish', id: todo.id, if_match: etagOf(todo) },
    ]);
    const problem = assertOperationFailed(res, 412, 1, 'operations.1.if_match');
    assert.match(String(problem.detail), /earlier operation in this batch/);
    assert.match(String(problem.detail), new RegExp(`still ${etagOf(todo)}`));
    const { body } = await t.http().get(`/api/todos/${todo.id}`).set('Authorization', u.auth).expect(200);
    assert.deepEqual(body, todo);
  });

  it('when an operation names a todo that is not there, then it is a 404 naming its index and id', async () => {
    const u = await tokenUser(t);
    const other = await tokenUser(t);
    const theirs = await createTodo(t, other, 'not yours');
    for (const op of ['update', 'finish', 'delete']) {
      const res = await batch(u, [
        { op: 'create', content: 'x' },
        { op, id: theirs.id, ...(op === 'update' && { content: 'y' }) },
      ]);
      assert.equal(assertOperationFailed(res, 404, 1, 'operations.1.id').type, '/problems/not-found');
    }
    assert.equal(await countTodos(t, u.id), 0);
    assert.equal(await countTodos(t, other.id), 1);
  });

  it('when an operation is malformed, then it is a 422 naming its index and field, with what was expected', async () => {
    const u = await tokenUser(t);
    const ok = { op: 'create', content: 'fine' };
    const cases: Array<[unknown, string]> = [
      [{ op: 'create', content: '   ' }, 'operations.1.content'],
      [{ op: 'create', content: 'x'.repeat(1001) }, 'operations.1.content'],
      [{ op: 'create' }, 'operations.1.content'],
      [{ op: 'frobnicate', id: randomUUID() }, 'operations.1.op'],
      [{ content: 'no op' }, 'operations.1.op'],
      ['create', 'operations.1'],
      [{ op: 'update', id: randomUUID() }, 'operations.1'],
      [{ op: 'update', id: 'not-a-uuid', content: 'x' }, 'operations.1.id'],
      [{ op: 'finish', id: randomUUID(), if_match: 'no quotes' }, 'operations.1.if_match'],
      [{ op: 'delete', id: randomUUID(), extra: 1 }, 'operations.1.extra'],
      [{ op: 'create', content: 'x', if_match: '*' }, 'operations.1.if_match'],
      [{ op: 'update', id: randomUUID(), is_finished: 'yes' }, 'operations.1.is_finished'],
    ];
    for (const [bad, field] of cases) {
      const res = await batch(u, [ok, bad, ok]);
      const problem = assertOperationFailed(res, 422, 1, field);
      assert.equal(problem.type, '/problems/validation-failed', JSON.stringify(bad));
    }
    assert.equal(await countTodos(t, u.id), 0);
  });

  it('when the body is not a list of 1 to 100 operations, then it is a 422 (or 400, 415) that says so, and nothing is applied', async () => {
    const u = await tokenUser(t);
    const post = () => t.http().post('/api/todos/batch').set('Authorization', u.auth);
    const many = Array.from({ length: 101 }, () => ({ op: 'create', content: 'x' }));
    for (const body of [{ operations: [] }, { operations: many }, {}, { operations: {} }, { operations: [], more: 1 }, []]) {
      const problem = assertProblem(await post().send(body), 422);
      assert.ok((problem.errors as Array<{ field: string }>).length > 0, JSON.stringify(body).slice(0, 80));
      assert.equal(problem.operation_index, undefined);
    }
    assertProblem(await post().type('json').send('{"operations": ['), 400);
    assertProblem(await post().type('form').send('operations=create'), 415);
    assertProblem(await post().set('Content-Type', 'text/plain').send('x'), 415);
    assert.equal(await countTodos(t, u.id), 0);
  });

  it('when 100 creates of 1000 characters are sent, then the batch takes them past the 16 KiB body limit, up to its own', async () => {
    const u = await tokenUser(t);
    // Four bytes of UTF-8 each: the largest batch the schema allows.
    const operations = Array.from({ length: 100 }, (_, i) => ({ op: 'create', content: `${i}${'😀'.repeat(1000 - `${i}`.length)}` }));
    const body = JSON.stringify({ operations });
    assert.ok(Buffer.byteLength(body) > nginxContract.bodyLimitBytes * 20);
    assert.ok(Buffer.byteLength(body) < nginxContract.batchLimitBytes);
    const res = await t.http().post('/api/todos/batch').set('Authorization', u.auth).type('json').send(body);
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.equal(await countTodos(t, u.id), 100);
    const tooBig = JSON.stringify({ operations: [{ op: 'create', content: 'x'.repeat(nginxContract.batchLimitBytes) }] });
    const problem = assertProblem(await t.http().post('/api/todos/batch').set('Authorization', u.auth).type('json').send(tooBig), 413);
    assert.equal(problem.type, '/problems/body-too-large');
    // Other routes keep the small limit.
    const big = JSON.stringify({ content: 'x'.repeat(nginxContract.bodyLimitBytes) });
    assertProblem(await t.http().post('/api/todos').set('Authorization', u.auth).type('json').send(big), 413);
  });

  it('when a batch is retried with its Idempotency-Key, then the first answer is replayed and nothing is applied twice', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'finish me once');
    const operations = [
      { op: 'create', content: 'once' },
      { op: 'finish', id: todo.id, if_match: etagOf(todo) },
    ];
    const key = randomUUID();
    const first = await batch(u, operations, key).expect(200);
    const retry = await batch(u, operations, key).expect(200);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.deepEqual(retry.body, first.body);
    assert.equal(await countTodos(t, u.id), 2);

    const reused = assertProblem(await batch(u, [{ op: 'create', content: 'other' }], key), 422);
    assert.equal(reused.type, '/problems/idempotency-key-reused');
    // A batch that failed leaves its key free: the same request can be made again once it can succeed.
    const failingKey = randomUUID();
    const stale = [{ op: 'update', id: todo.id, content: 'late', if_match: etagOf(todo) }];
    assertProblem(await batch(u, stale, failingKey), 412);
    const current = etagOf(first.body.results[1].todo as TodoJson);
    await batch(u, [{ op: 'update', id: todo.id, content: 'late', if_match: current }], failingKey).expect(200);
    assert.equal(await countTodos(t, u.id), 2);
  });

  it("when a batch changes the list, then the user's cache is invalidated once for the whole batch and the next read sees it", async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'cached');
    const first = await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
    assert.equal(first.body.data.length, 1);
    const cache = t.deps.cache;
    const invalidate = cache.invalidate.bind(cache);
    const calls: string[] = [];
    cache.invalidate = (namespace: string) => {
      calls.push(namespace);
      return invalidate(namespace);
    };
    try {
      const operations = [...Array.from({ length: 99 }, (_, i) => ({ op: 'create', content: `n${i}` })), { op: 'finish', id: todo.id }];
      await batch(u, operations).expect(200);
    } finally {
      cache.invalidate = invalidate;
    }
    assert.deepEqual(calls, [listNamespace(u.id)]);
    const page = await t.http().get('/api/todos?limit=100').set('Authorization', u.auth).expect(200);
    assert.equal(page.body.data.length, 100);
    assert.equal(page.body.data[0].content, 'n98');
  });

  it('when two batches change the same todos in opposite orders at once, then both complete (no deadlock)', async () => {
    const u = await tokenUser(t);
    const [a, b] = [await createTodo(t, u, 'a'), await createTodo(t, u, 'b')];
    for (let round = 0; round < 10; round++) {
      const [one, two] = await Promise.all([
        batch(u, [
          { op: 'update', id: a.id, content: `a${round}` },
          { op: 'update', id: b.id, content: `b${round}` },
        ]),
        batch(u, [
          { op: 'finish', id: b.id },
          { op: 'update', id: a.id, is_finished: true },
        ]),
      ]);
      assert.deepEqual([one.status, two.status], [200, 200], `${one.text} ${two.text}`);
    }
  });

  it('when a browser session sends a batch, then it needs its CSRF token like any write', async () => {
    const s = await signUp(t);
    const body = { operations: [{ op: 'create', content: 'from the page' }] };
    assertProblem(await t.http().post('/api/todos/batch').set('Cookie', s.cookie).send(body), 403);
    await t.http().post('/api/todos/batch').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf).send(body).expect(200);
    assertProblem(await t.http().post('/api/todos/batch').send(body), 401);
  });
});

describe('todos: a batch at the per-user todo limit', () => {
  const LIMIT = 5;
  let t: TestApp;
  before(async () => {
    t = await startApp({ PASSWORD_SCRYPT_LOG_N: '10', TODO_LIMIT_PER_USER: String(LIMIT) });
  });
  after(() => t.close());

  const batch = (u: TokenUser, operations: unknown) => t.http().post('/api/todos/batch').set('Authorization', u.auth).send({ operations });

  it('when a batch would pass the limit, then it is a 409 naming the create that would, and nothing is applied', async () => {
    const u = await tokenUser(t);
    const first = await createTodo(t, u, 'one');
    for (let i = 0; i < 2; i++) await createTodo(t, u, `more ${i}`);
    const res = await batch(u, [
      { op: 'update', id: first.id, content: 'one, edited' },
      { op: 'create', content: 'four' },
      { op: 'create', content: 'five' },
      { op: 'create', content: 'six' },
    ]);
    const problem = assertProblem(res, 409);
    assert.equal(problem.type, '/problems/todo-limit-reached');
    assert.equal(problem.operation_index, 3);
    assert.match(String(problem.detail), /^Operation 3 \(create\) failed/);
    assert.equal(await countTodos(t, u.id), 3);
    assert.equal((await t.http().get(`/api/todos/${first.id}`).set('Authorization', u.auth)).body.content, 'one');

    // Deletes earlier in the batch make room for its creates.
    const del = await batch(u, [
      { op: 'delete', id: first.id },
      { op: 'create', content: 'four' },
      { op: 'create', content: 'five' },
      { op: 'create', content: 'six' },
    ]);
    assert.equal(del.status, 200, del.text);
    assert.equal(await countTodos(t, u.id), LIMIT);
  });
});
