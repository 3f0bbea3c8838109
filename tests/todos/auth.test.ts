import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type request from 'supertest';
import { assertProblem, signUp, tokenUser, type TestApp } from '../helpers/app';
import { countTodos, createTodo, startTodosApp } from '../helpers/todos';

/** Every todo route, with a valid body where one is needed, aimed at a real todo. */
function routes(t: TestApp, id: string): Array<{ name: string; make: () => request.Test }> {
  return [
    { name: 'GET /api/todos', make: () => t.http().get('/api/todos') },
    { name: 'GET /api/todos?limit&is_finished', make: () => t.http().get('/api/todos?limit=5&is_finished=false') },
    { name: 'POST /api/todos', make: () => t.http().post('/api/todos').send({ content: 'new' }) },
    { name: 'GET /api/todos/:id', make: () => t.http().get(`/api/todos/${id}`) },
    { name: 'PATCH /api/todos/:id', make: () => t.http().patch(`/api/todos/${id}`).send({ content: 'changed', is_finished: true }) },
    { name: 'PUT /api/todos/:id/finish', make: () => t.http().put(`/api/todos/${id}/finish`) },
    { name: 'DELETE /api/todos/:id', make: () => t.http().delete(`/api/todos/${id}`) },
  ];
}

describe('todos: authentication on every route', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  it('when a request has no credentials, then every todo route is a 401 problem and nothing changes', async () => {
    const owner = await tokenUser(t);
    const todo = await createTodo(t, owner, 'guarded');
    for (const route of routes(t, todo.id)) {
      const res = await route.make();
      const body = assertProblem(res, 401);
      assert.equal(body.type, '/problems/unauthenticated', route.name);
      assert.equal(body.retryable, false, route.name);
    }
    const read = await t.http().get(`/api/todos/${todo.id}`).set('Authorization', owner.auth).expect(200);
    assert.deepEqual(read.body, todo);
    assert.equal(await countTodos(t, owner.id), 1);
  });

  it('when a request has no credentials, then the 401 names the scheme to use in WWW-Authenticate (RFC 9110 §11.6.1)', async () => {
    const res = await t.http().get('/api/todos');
    assertProblem(res, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer\b/);
  });

  it('when the bearer token is unknown, malformed or revoked, then every todo route is 401 with WWW-Authenticate', async () => {
    const owner = await tokenUser(t);
    const todo = await createTodo(t, owner, 'guarded');
    const revoked = await tokenUser(t, 'revoked');
    const { body: tokens } = await t.http().get('/api/tokens').set('Authorization', revoked.auth).expect(200);
    await t.http().delete(`/api/tokens/${tokens.data[0].id}`).set('Authorization', revoked.auth).expect(204);

    const bad = [
      `Bearer tdo_${'A'.repeat(43)}`, // well-formed, never issued
      `Bearer ${owner.token}x`, // one character off
      'Bearer not a token',
      'Basic dXNlcjpwYXNz',
      'Bearer',
      revoked.auth,
    ];
    for (const header of bad) {
      for (const route of routes(t, todo.id)) {
        const res = await route.make().set('Authorization', header);
        assertProblem(res, 401);
        assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"', `${route.name} with ${header}`);
        assert.doesNotMatch(res.text, /guarded/);
      }
    }
    assert.equal(await countTodos(t, owner.id), 1);
    const read = await t.http().get(`/api/todos/${todo.id}`).set('Authorization', owner.auth).expect(200);
    assert.deepEqual(read.body, todo);
  });

  it('when a bad bearer token comes with a valid session cookie, then it is still 401 (the token wins)', async () => {
    const u = await signUp(t);
    const res = await t.http().get('/api/todos').set('Cookie', u.cookie).set('Authorization', 'Bearer tdo_nope');
    assertProblem(res, 401);
    assert.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"');
  });

  it('when a browser session is used, then reads work, and writes need the X-CSRF-Token', async () => {
    const u = await signUp(t);
    const list = await t.http().get('/api/todos').set('Cookie', u.cookie).expect(200);
    assert.deepEqual(list.body, { data: [], next_cursor: null });
    const refused = await t.http().post('/api/todos').set('Cookie', u.cookie).send({ content: 'no csrf' });
    assert.equal(assertProblem(refused, 403).type, '/problems/csrf-missing');
    const wrong = await t
      .http()
      .post('/api/todos')
      .set('Cookie', u.cookie)
      .set('X-CSRF-Token', 'x'.repeat(43))
      .send({ content: 'bad csrf' });
    assert.equal(assertProblem(wrong, 403).type, '/problems/csrf-mismatch');
    assert.equal(await countTodos(t, u.id), 0);
    const created = await t
      .http()
      .post('/api/todos')
      .set('Cookie', u.cookie)
      .set('X-CSRF-Token', u.csrf)
      .type('form')
      .send('content=from+a+form')
      .expect(201);
    assert.equal(created.body.content, 'from a form');
    const stale = await t.http().get('/api/todos').set('Cookie', 'sid=stale-session-id');
    assertProblem(stale, 401);
  });
});
