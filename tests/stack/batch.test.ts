import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../app/config';
import { nginxContract } from '../../app/nginx-contract';
import { readStackEnv } from '../../scripts/stack-env';
import { stack, stackSession, stackStores } from '../helpers/stack';

// POST /api/todos/batch and DELETE /api/todos?is_finished=true through
// nginx, with a token and with a browser session: all or none, replayed
// with an Idempotency-Key, and seen at once through nginx's copy of a
// token's first page.

type Session = Awaited<ReturnType<typeof stackSession>>;
type Todo = { id: string; content: string; is_finished: boolean; updated_at: string };
type Stores = Awaited<ReturnType<typeof stackStores>>;

describe('batches and clear finished through nginx', () => {
  let stores: Stores;
  before(async () => {
    stores = await stackStores();
  });
  after(() => stores.close());

  /** A user with a browser session and an API token. */
  async function user() {
    const session = await stackSession();
    const minted = await asSession(session, 'POST', '/api/tokens', { name: 'batch' });
    const { token } = (await minted.json()) as { token: string };
    return { session, auth: `Bearer ${token}` };
  }
  const asSession = (s: Session, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.http}${path}`, {
      method,
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const asToken = (auth: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${stack.http}${path}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const todosInDb = async (userId: string) =>
    (
      await stores.db.query<{ content: string; is_finished: boolean }>(
        'SELECT content, is_finished FROM todos WHERE user_id = $1 ORDER BY content',
        [userId],
      )
    ).rows;

  /** Reads the token's first page until nginx answers it from its copy. */
  async function holdCopy(auth: string): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${stack.http}/api/todos`, { headers: { authorization: auth } });
      await res.arrayBuffer();
      if (res.headers.get('x-cache-status') === 'HIT') return;
    }
    assert.fail("nginx never answered the token's first page from a copy");
  }
  const tokenPage = async (auth: string) => {
    const res = await fetch(`${stack.http}/api/todos?limit=100`, { headers: { authorization: auth } });
    return ((await res.json()) as { data: Todo[] }).data;
  };

  it('when the 50th operation of a batch fails, then PostgreSQL holds nothing of the first 49, with a token or a session', async () => {
    const { session, auth } = await user();
    const created = await asToken(auth, 'POST', '/api/todos', { content: 'the one todo' });
    const todo = (await created.json()) as Todo;
    const operations = [
      ...Array.from({ length: 48 }, (_, i) => ({ op: 'create', content: `created ${i}` })),
      { op: 'finish', id: todo.id },
      { op: 'update', id: todo.id, content: 'never', if_match: '"2000-01-01T00:00:00.000Z"' },
    ];
    for (const send of [
      () => asToken(auth, 'POST', '/api/todos/batch', { operations }),
      () => asSession(session, 'POST', '/api/todos/batch', { operations }),
    ]) {
      const res = await send();
      assert.equal(res.status, 412);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      const problem = (await res.json()) as { type: string; operation_index: number; retryable: boolean; errors: Array<{ field: string }> };
      assert.equal(problem.type, '/problems/todo-changed');
      assert.equal(problem.operation_index, 49);
      assert.equal(problem.retryable, false);
      assert.equal(problem.errors[0]!.field, 'operations.49.if_match');
      assert.deepEqual(await todosInDb(session.id), [{ content: 'the one todo', is_finished: false }]);
    }
  });

  it('when a batch is retried with its Idempotency-Key through nginx, then the first answer comes back and PostgreSQL holds one of each', async () => {
    const { session, auth } = await user();
    const key = randomUUID();
    const operations = [
      { op: 'create', content: 'made once' },
      { op: 'create', content: 'also once' },
    ];
    const first = await asToken(auth, 'POST', '/api/todos/batch', { operations }, { 'idempotency-key': key });
    assert.equal(first.status, 200);
    const body = await first.json();
    const retry = await asToken(auth, 'POST', '/api/todos/batch', { operations }, { 'idempotency-key': key });
    assert.equal(retry.status, 200);
    assert.equal(retry.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(await retry.json(), body);
    assert.deepEqual(
      (await todosInDb(session.id)).map((t) => t.content),
      ['also once', 'made once'],
    );
    const reused = await asToken(auth, 'POST', '/api/todos/batch', { operations: operations.slice(1) }, { 'idempotency-key': key });
    assert.equal(reused.status, 422);
  });

  it("when a browser's batch or clear-finished answers, then a token's first page that nginx held shows it at once", async () => {
    const { session, auth } = await user();
    const seed = await asToken(auth, 'POST', '/api/todos', { content: 'to finish' });
    const todo = (await seed.json()) as Todo;
    await holdCopy(auth);
    const res = await asSession(session, 'POST', '/api/todos/batch', {
      operations: [
        { op: 'create', content: 'from a batch' },
        { op: 'finish', id: todo.id, if_match: `"${todo.updated_at}"` },
      ],
    });
    assert.equal(res.status, 200);
    assert.deepEqual(
      (await tokenPage(auth)).map((t) => [t.content, t.is_finished]),
      [
        ['from a batch', false],
        ['to finish', true],
      ],
    );

    await holdCopy(auth);
    const cleared = await asSession(session, 'DELETE', '/api/todos?is_finished=true');
    assert.equal(cleared.status, 200);
    assert.deepEqual(await cleared.json(), { deleted: 1, has_more: false });
    assert.deepEqual(
      (await tokenPage(auth)).map((t) => t.content),
      ['from a batch'],
    );
  });

  it('when clear-finished gets any other query, then nginx passes on the 422 problem and nothing is deleted', async () => {
    const { session, auth } = await user();
    await asToken(auth, 'POST', '/api/todos/batch', { operations: [{ op: 'create', content: 'done' }] });
    const [todo] = await tokenPage(auth);
    await asToken(auth, 'PUT', `/api/todos/${todo!.id}/finish`);
    for (const query of ['', '?is_finished=false', '?is_finished=1', '?is_finished=true&limit=1']) {
      for (const res of [await asToken(auth, 'DELETE', `/api/todos${query}`), await asSession(session, 'DELETE', `/api/todos${query}`)]) {
        assert.equal(res.status, 422, query);
        assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
        const problem = (await res.json()) as { errors: Array<{ field: string; expected: string }> };
        assert.ok(problem.errors.length > 0);
      }
    }
    assert.deepEqual(await todosInDb(session.id), [{ content: 'done', is_finished: true }]);
  });

  it('when a user has more finished todos than the per-user limit, then one request clears the limit in one statement and says more are left', async () => {
    const { todos: limit } = loadConfig({ ...process.env, ...readStackEnv(process.env.TODO_STACK_ENV!) }).perUser;
    const { session, auth } = await user();
    // Only a direct write can pass the limit (and add to a list past it).
    await stores.db.query(
      `INSERT INTO todos (user_id, content, is_finished, created_at, updated_at, finished_at)
       SELECT $1, 'finished ' || i, true, at, at, at FROM generate_series(1, $2::int) AS i,
              LATERAL (SELECT now() - interval '1 day' + i * interval '1 millisecond' AS at) AS x`,
      [session.id, limit + 1],
    );
    await stores.db.query("INSERT INTO todos (user_id, content) VALUES ($1, 'open')", [session.id]);
    const first = await asToken(auth, 'DELETE', '/api/todos?is_finished=true');
    assert.equal(first.status, 200, await first.clone().text());
    assert.deepEqual(await first.json(), { deleted: limit, has_more: true });
    const left = await stores.db.query<{ content: string }>('SELECT content FROM todos WHERE user_id = $1 AND is_finished', [session.id]);
    assert.deepEqual(
      left.rows.map((r) => r.content),
      ['finished 1'],
      'the oldest is left',
    );
    const second = await asSession(session, 'DELETE', '/api/todos?is_finished=true');
    assert.deepEqual(await second.json(), { deleted: 1, has_more: false });
    assert.deepEqual(await todosInDb(session.id), [{ content: 'open', is_finished: false }]);
  });

  it('when a batch is larger than 16 KiB, then nginx lets it through up to the batch limit, and refuses more with a problem', async () => {
    const { session, auth } = await user();
    const operations = Array.from({ length: 100 }, (_, i) => ({ op: 'create', content: `${i} ${'x'.repeat(990)}` }));
    const res = await asToken(auth, 'POST', '/api/todos/batch', { operations });
    assert.equal(res.status, 200);
    assert.equal((await todosInDb(session.id)).length, 100);
    const tooBig = await asToken(auth, 'POST', '/api/todos/batch', {
      operations: [{ op: 'create', content: 'x'.repeat(nginxContract.batchLimitBytes) }],
    });
    assert.equal(tooBig.status, 413);
    assert.equal(tooBig.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const problem = (await tooBig.json()) as { type: string; detail: string; retryable: boolean };
    assert.equal(problem.type, '/problems/body-too-large');
    assert.match(problem.detail, new RegExp(`at most ${nginxContract.batchLimitBytes} bytes`));
    assert.equal(problem.retryable, false);
  });
});
