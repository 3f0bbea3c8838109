import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type request from 'supertest';
import { assertProblem, signUp, startApp, tokenUser, type SessionUser, type TestApp } from '../helpers/app';
import { logIn, sessionStatus, uniqueSlug } from '../helpers/accounts';

type Agent = ReturnType<TestApp['http']>;
type Ctx = { todoId: string; tokenId: string };
type Case = {
  route: string;
  send: (http: Agent, ctx: Ctx) => request.Test;
  ok: number;
  /** What the request changes, read before and after it. */
  state: (t: TestApp, u: SessionUser) => Promise<unknown>;
};

const todos = async (t: TestApp, u: SessionUser) => (await t.http().get('/api/todos').set('Cookie', u.cookie).expect(200)).body.data;
const tokens = async (t: TestApp, u: SessionUser) => (await t.http().get('/api/tokens').set('Cookie', u.cookie).expect(200)).body.data;
const me = async (t: TestApp, u: SessionUser) => (await t.http().get('/api/me').set('Cookie', u.cookie).expect(200)).body.user;

const UNSAFE: Case[] = [
  { route: 'POST /api/tokens', ok: 201, state: tokens, send: (h) => h.post('/api/tokens').send({ name: 'csrf' }) },
  { route: 'DELETE /api/tokens/:id', ok: 204, state: tokens, send: (h, c) => h.delete(`/api/tokens/${c.tokenId}`) },
  { route: 'PATCH /api/me', ok: 200, state: me, send: (h) => h.patch('/api/me').send({ public_slug: uniqueSlug('csrf') }) },
  { route: 'POST /api/todos', ok: 201, state: todos, send: (h) => h.post('/api/todos').send({ content: 'csrf' }) },
  { route: 'PATCH /api/todos/:id', ok: 200, state: todos, send: (h, c) => h.patch(`/api/todos/${c.todoId}`).send({ is_finished: true }) },
  { route: 'PUT /api/todos/:id/finish', ok: 200, state: todos, send: (h, c) => h.put(`/api/todos/${c.todoId}/finish`) },
  { route: 'DELETE /api/todos/:id', ok: 204, state: todos, send: (h, c) => h.delete(`/api/todos/${c.todoId}`) },
  { route: 'DELETE /api/session', ok: 204, state: (t, u) => sessionStatus(t, u.cookie), send: (h) => h.delete('/api/session') },
];

describe('CSRF protection of cookie sessions', () => {
  let t: TestApp;
  let stranger: SessionUser;
  before(async () => {
    t = await startApp();
    stranger = await signUp(t, 'stranger');
  });
  after(() => t.close());

  /** A user with one todo and one spare token, both made with the right CSRF token. */
  async function prepare(tag: string): Promise<{ u: SessionUser; ctx: Ctx }> {
    const u = await signUp(t, tag);
    const todo = await t
      .http()
      .post('/api/todos')
      .set('Cookie', u.cookie)
      .set('X-CSRF-Token', u.csrf)
      .send({ content: 'existing' })
      .expect(201);
    const token = await t
      .http()
      .post('/api/tokens')
      .set('Cookie', u.cookie)
      .set('X-CSRF-Token', u.csrf)
      .send({ name: 'spare' })
      .expect(201);
    return { u, ctx: { todoId: todo.body.id, tokenId: token.body.id } };
  }

  for (const c of UNSAFE) {
    it(`when ${c.route} has a session cookie but no X-CSRF-Token, then 403 and nothing changes`, async () => {
      const { u, ctx } = await prepare('csrf-missing');
      const before = await c.state(t, u);
      const problem = assertProblem(await c.send(t.http(), ctx).set('Cookie', u.cookie), 403);
      assert.equal(problem.retryable, false);
      assert.match(String(problem.detail), /CSRF/i);
      assert.deepEqual(await c.state(t, u), before);
    });

    it(`when ${c.route} has a session cookie and a wrong X-CSRF-Token, then 403 and nothing changes`, async () => {
      const { u, ctx } = await prepare('csrf-wrong');
      const sibling = await logIn(t, u.email);
      const before = await c.state(t, u);
      // A made-up value, another user's token, and this user's token from another session.
      for (const wrong of ['wrong', u.csrf.slice(0, -1), stranger.csrf, sibling.csrf]) {
        const res = await c.send(t.http(), ctx).set('Cookie', u.cookie).set('X-CSRF-Token', wrong);
        assertProblem(res, 403);
      }
      assert.deepEqual(await c.state(t, u), before);
    });

    it(`when ${c.route} has a session cookie and the right X-CSRF-Token, then ${c.ok} and it takes effect`, async () => {
      const { u, ctx } = await prepare('csrf-right');
      const before = await c.state(t, u);
      const res = await c.send(t.http(), ctx).set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf);
      assert.equal(res.status, c.ok, res.text);
      assert.notDeepEqual(await c.state(t, u), before);
    });
  }

  it('when GET requests carry only the session cookie, then they need no CSRF token', async () => {
    const { u, ctx } = await prepare('csrf-safe');
    for (const path of ['/api/me', '/api/session', '/api/tokens', '/api/todos', `/api/todos/${ctx.todoId}`]) {
      const res = await t.http().get(path).set('Cookie', u.cookie);
      assert.equal(res.status, 200, `${path}: ${res.text}`);
    }
  });

  it('when a GET carries a wrong CSRF token, then it is still served', async () => {
    const { u } = await prepare('csrf-safe-wrong');
    await t.http().get('/api/me').set('Cookie', u.cookie).set('X-CSRF-Token', 'wrong').expect(200);
  });
});

describe('bearer tokens need no CSRF token', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  for (const c of UNSAFE.filter((x) => x.route !== 'DELETE /api/session')) {
    it(`when ${c.route} is sent with a bearer token and no X-CSRF-Token, then ${c.ok}`, async () => {
      const u = await tokenUser(t, 'bearer-csrf');
      const todo = await t.http().post('/api/todos').set('Authorization', u.auth).send({ content: 'existing' }).expect(201);
      const spare = await t.http().post('/api/tokens').set('Authorization', u.auth).send({ name: 'spare' }).expect(201);
      const before = await c.state(t, u);
      const res = await c.send(t.http(), { todoId: todo.body.id, tokenId: spare.body.id }).set('Authorization', u.auth);
      assert.equal(res.status, c.ok, res.text);
      assert.notDeepEqual(await c.state(t, u), before);
    });
  }
});
