import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type request from 'supertest';
import { assertProblem, tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import { countTodos, createTodo, startTodosApp } from '../helpers/todos';

/** A problem that is not worth retrying, and leaks no internals. */
function assertClientProblem(res: request.Response, status: number, type: string): Record<string, unknown> {
  const body = assertProblem(res, status);
  assert.equal(body.type, type);
  assert.equal(body.retryable, false);
  assert.doesNotMatch(res.text, /at .*\.ts:\d+|node_modules|SELECT |INSERT |syntax error at/i, 'no stack trace or SQL');
  return body;
}

describe('todos: error statuses are problem+json with the request id', () => {
  let t: TestApp;
  let u: TokenUser;
  before(async () => {
    t = await startTodosApp();
    u = await tokenUser(t);
  });
  after(() => t.close());

  it('when a POST or PATCH body is malformed JSON, then it is 400 and nothing is stored', async () => {
    const todo = await createTodo(t, u, 'stays');
    const before = await countTodos(t, u.id);
    for (const raw of ['{"content": ', '{content: "x"}', "{'content':'x'}", '{"content":"x",}']) {
      const post = await t.http().post('/api/todos').set('Authorization', u.auth).type('json').send(raw);
      const body = assertClientProblem(post, 400, '/problems/malformed-request');
      assert.equal(body.errors, undefined);
      const patch = await t.http().patch(`/api/todos/${todo.id}`).set('Authorization', u.auth).type('json').send(raw);
      assertClientProblem(patch, 400, '/problems/malformed-request');
    }
    assert.equal(await countTodos(t, u.id), before);
    const read = await t.http().get(`/api/todos/${todo.id}`).set('Authorization', u.auth).expect(200);
    assert.equal(read.body.content, 'stays');
  });

  it('when a JSON or form body is over 16 KiB, then it is 413', async () => {
    const json = JSON.stringify({ content: 'x'.repeat(17 * 1024) });
    const res = await t.http().post('/api/todos').set('Authorization', u.auth).type('json').send(json);
    const body = assertClientProblem(res, 413, '/problems/body-too-large');
    assert.match(String(body.detail), /16384/);
    const form = await t
      .http()
      .post('/api/todos')
      .set('Authorization', u.auth)
      .type('form')
      .send(`content=${'y'.repeat(17 * 1024)}`);
    assertClientProblem(form, 413, '/problems/body-too-large');
    // Just under the limit is parsed (and then judged on its content).
    const under = await t
      .http()
      .post('/api/todos')
      .set('Authorization', u.auth)
      .type('json')
      .send(JSON.stringify({ content: 'z'.repeat(16 * 1024 - 20) }));
    assertClientProblem(under, 422, '/problems/validation-failed');
  });

  it('when a body is text/plain or another unknown type, then it is 415', async () => {
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
      const res = await t.http().post('/api/todos').set('Authorization', u.auth).set('Content-Type', type).send('content=hello');
      assertClientProblem(res, 415, '/problems/unsupported-media-type');
    }
    const todo = await createTodo(t, u, 'typed');
    const patch = await t.http().patch(`/api/todos/${todo.id}`).set('Authorization', u.auth).set('Content-Type', 'text/plain').send('done');
    assertClientProblem(patch, 415, '/problems/unsupported-media-type');
  });

  it('when a body breaks a rule, then it is 422 with errors[] of field, message and expected', async () => {
    const res = await t.http().post('/api/todos').set('Authorization', u.auth).send({ content: '  ' });
    const body = assertClientProblem(res, 422, '/problems/validation-failed');
    assert.equal(body.title, 'Validation failed');
    assert.match(String(body.detail), /content/);
    const errors = body.errors as Array<Record<string, unknown>>;
    assert.equal(errors.length, 1);
    assert.deepEqual(Object.keys(errors[0]!).sort(), ['expected', 'field', 'message']);
    assert.equal(errors[0]!.field, 'content');
    assert.match(String(errors[0]!.expected), /1 to 1000/);
  });

  it("when the client sends an X-Request-Id, then the header and every problem's request_id echo it", async () => {
    const id = 'req-0123456789abcdef';
    const cases = [
      t.http().post('/api/todos').set('Authorization', u.auth).type('json').send('{'),
      t.http().post('/api/todos').set('Authorization', u.auth).send({ content: '' }),
      t.http().get('/api/todos/nope').set('Authorization', u.auth),
      t.http().get('/api/todos'),
      t.http().post('/api/todos').set('Authorization', u.auth).set('Content-Type', 'text/plain').send('x'),
    ];
    for (const req of cases) {
      const res = await req.set('X-Request-Id', id);
      assert.equal(res.headers['x-request-id'], id);
      assert.equal(assertProblem(res, res.status).request_id, id);
    }
  });

  it('when the client sends no X-Request-Id, then each response gets its own, also on success', async () => {
    const a = await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
    const b = await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
    assert.match(String(a.headers['x-request-id']), /^[A-Za-z0-9._:-]{8,128}$/);
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
    const problem = await t.http().get('/api/todos?limit=0').set('Authorization', u.auth);
    assert.equal(assertClientProblem(problem, 422, '/problems/validation-failed').request_id, problem.headers['x-request-id']);
  });
});
