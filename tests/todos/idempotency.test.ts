import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { assertProblem, tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import { assertTodo, countTodos, startTodosApp } from '../helpers/todos';

describe('todos: Idempotency-Key on POST', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  const post = (u: TokenUser, key: string | undefined, content: string) => {
    const req = t.http().post('/api/todos').set('Authorization', u.auth);
    if (key !== undefined) req.set('Idempotency-Key', key);
    return req.send({ content });
  };

  it('when a POST is retried with the same key and body, then the first response is replayed and one todo exists', async () => {
    const u = await tokenUser(t);
    const key = randomUUID();
    const first = await post(u, key, 'pay rent');
    assert.equal(first.status, 201, first.text);
    const todo = assertTodo(first.body);
    assert.equal(first.headers['idempotent-replayed'], undefined, 'the first response is not a replay');

    const retry = await post(u, key, 'pay rent');
    assert.equal(retry.status, 201);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(retry.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(retry.headers.location, `/api/todos/${todo.id}`);
    assert.equal(retry.headers.location, first.headers.location);
    assert.deepEqual(retry.body, first.body);
    assert.equal(await countTodos(t, u.id), 1);

    const third = await post(u, key, 'pay rent');
    assert.equal(third.body.id, todo.id);
    assert.equal(await countTodos(t, u.id), 1);
  });

  it('when a retry sends the same body as a form, then it is the same request and is replayed', async () => {
    const u = await tokenUser(t);
    const key = `form-${randomUUID()}`;
    const first = await post(u, key, 'same either way').expect(201);
    const retry = await t
      .http()
      .post('/api/todos')
      .set('Authorization', u.auth)
      .set('Idempotency-Key', key)
      .type('form')
      .send('content=same+either+way')
      .expect(201);
    assert.equal(retry.headers['idempotent-replayed'], 'true');
    assert.equal(retry.body.id, first.body.id);
    assert.equal(await countTodos(t, u.id), 1);
  });

  it('when the same key comes with a different body, then it is a 422 problem and nothing is created', async () => {
    const u = await tokenUser(t);
    const key = randomUUID();
    const first = await post(u, key, 'original').expect(201);
    const res = await post(u, key, 'something else');
    const body = assertProblem(res, 422);
    assert.equal(body.retryable, false);
    assert.equal(res.headers['idempotent-replayed'], undefined);
    const errors = body.errors as Array<{ field: string; message: string; expected: string }>;
    assert.deepEqual(
      errors.map((e) => e.field),
      ['Idempotency-Key'],
    );
    assert.ok(errors[0]!.message && errors[0]!.expected);
    assert.equal(await countTodos(t, u.id), 1);
    // The key still belongs to the first request.
    assert.equal((await post(u, key, 'original').expect(201)).body.id, first.body.id);
  });

  it('when two users send the same key, then each gets their own todo', async () => {
    const [a, b] = await Promise.all([tokenUser(t, 'a'), tokenUser(t, 'b')]);
    const key = `shared-${randomUUID()}`;
    const resA = await post(a, key, 'same words').expect(201);
    const resB = await post(b, key, 'same words').expect(201);
    assert.equal(resB.headers['idempotent-replayed'], undefined, "B's first use of the key is not a replay of A's");
    assert.notEqual(resB.body.id, resA.body.id);
    assert.equal(await countTodos(t, a.id), 1);
    assert.equal(await countTodos(t, b.id), 1);
    await t.http().get(`/api/todos/${resB.body.id}`).set('Authorization', b.auth).expect(200);
    assertProblem(await t.http().get(`/api/todos/${resA.body.id}`).set('Authorization', b.auth), 404);
    // B with a different body under that key is B's own conflict, not A's.
    assertProblem(await post(b, key, 'other words'), 422);
    assert.equal((await post(a, key, 'same words').expect(201)).body.id, resA.body.id);
  });

  it('when the key is invalid (too long, a space, non-ASCII or empty), then it is 422 on Idempotency-Key and nothing is created', async () => {
    const u = await tokenUser(t);
    for (const key of ['k'.repeat(201), 'has space', 'caf\u00e9', '']) {
      const res = await t
        .http()
        .post('/api/todos')
        .set('Authorization', u.auth)
        .set('Idempotency-Key', Buffer.from(key, 'utf8').toString('latin1'))
        .send({ content: 'x' });
      const body = assertProblem(res, 422);
      assert.deepEqual(
        (body.errors as Array<{ field: string }>).map((e) => e.field),
        ['Idempotency-Key'],
        `key ${JSON.stringify(key)}`,
      );
    }
    assert.equal(await countTodos(t, u.id), 0);
    const longest = await post(u, '~'.repeat(200), 'x');
    assert.equal(longest.status, 201, 'a key of 200 visible characters is valid');
  });

  it('when a first attempt fails validation, then the key stays free for a valid request', async () => {
    const u = await tokenUser(t);
    const key = randomUUID();
    assertProblem(await post(u, key, '   '), 422);
    const ok = await post(u, key, 'now valid');
    assert.equal(ok.status, 201);
    assert.equal(ok.headers['idempotent-replayed'], undefined);
    assert.equal(await countTodos(t, u.id), 1);
  });

  it('when POSTs have no key, then each creates a todo', async () => {
    const u = await tokenUser(t);
    const a = await post(u, undefined, 'twice').expect(201);
    const b = await post(u, undefined, 'twice').expect(201);
    assert.notEqual(a.body.id, b.body.id);
    assert.equal(await countTodos(t, u.id), 2);
  });

  it('when 10 requests with the same key and body race, then exactly one todo is created and all return its id', async () => {
    const u = await tokenUser(t);
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, () => post(u, key, 'raced')));
    for (const res of results) assert.equal(res.status, 201, res.text);
    const ids = new Set(results.map((r) => r.body.id as string));
    assert.equal(ids.size, 1, `all answers must name one todo, got ${[...ids].join(', ')}`);
    const originals = results.filter((r) => r.headers['idempotent-replayed'] === undefined);
    assert.equal(originals.length, 1, 'exactly one response is the original, the rest are replays');
    for (const r of results) assert.deepEqual(r.body, originals[0]!.body);
    assert.equal(await countTodos(t, u.id), 1);
    const { rows } = await t.deps.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM idempotency_keys WHERE user_id = $1 AND key = $2',
      [u.id, key],
    );
    assert.equal(rows[0]!.n, 1);
  });

  it('when 10 requests race with the same key but different bodies, then one wins and the rest are 422', async () => {
    const u = await tokenUser(t);
    const key = randomUUID();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => post(u, key, `body ${i}`)));
    const created = results.filter((r) => r.status === 201);
    assert.equal(created.length, 1, results.map((r) => r.status).join(','));
    for (const r of results.filter((x) => x.status !== 201)) assertProblem(r, 422);
    assert.equal(await countTodos(t, u.id), 1);
  });
});
