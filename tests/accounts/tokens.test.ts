import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { assertProblem, signUp, startApp, tokenUser, type SessionUser, type TestApp } from '../helpers/app';
import { errorFields, ISO_MS, JSON_UTF8, UUID } from '../helpers/accounts';

describe('personal API tokens', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  const create = (u: SessionUser, name: string) =>
    t.http().post('/api/tokens').set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).send({ name });
  const list = (u: SessionUser) => t.http().get('/api/tokens').set('Cookie', u.cookie).expect(200);

  it('when a user creates a token, then 201 returns exactly id, name, token and created_at', async () => {
    const u = await signUp(t, 'token');
    const res = await create(u, 'my laptop').expect(201);
    assert.match(String(res.headers['content-type']), JSON_UTF8);
    assert.equal(res.headers['cache-control'], 'no-store', 'a response holding a secret is not cached');
    assert.deepEqual(Object.keys(res.body).sort(), ['created_at', 'id', 'name', 'token']);
    assert.match(res.body.id, UUID);
    assert.equal(res.body.name, 'my laptop');
    assert.match(res.body.created_at, ISO_MS);
    assert.ok(typeof res.body.token === 'string' && res.body.token.length >= 32, 'the token is long and random');
    assert.equal(res.headers.location, `/api/tokens/${res.body.id}`);
  });

  it('when a token is sent as Bearer, then it authenticates as its owner', async () => {
    const u = await signUp(t, 'bearer');
    const { body } = await create(u, 'cli').expect(201);
    const me = await t.http().get('/api/me').set('Authorization', `Bearer ${body.token}`).expect(200);
    assert.equal(me.body.user.id, u.id);
  });

  it('when two tokens are made, then they differ', async () => {
    const u = await signUp(t, 'two-tokens');
    const a = await create(u, 'a').expect(201);
    const b = await create(u, 'b').expect(201);
    assert.notEqual(a.body.token, b.body.token);
    assert.notEqual(a.body.id, b.body.id);
  });

  it('when tokens are listed, then each has id, name, created_at and last_used_at, and no secret', async () => {
    const u = await signUp(t, 'list');
    const a = await create(u, 'first').expect(201);
    const b = await create(u, 'second').expect(201);
    const res = await list(u);
    assert.match(String(res.headers['content-type']), JSON_UTF8);
    assert.deepEqual(Object.keys(res.body), ['data']);
    assert.deepEqual(res.body.data.map((x: { id: string }) => x.id).sort(), [a.body.id, b.body.id].sort());
    for (const item of res.body.data) {
      assert.deepEqual(Object.keys(item).sort(), ['created_at', 'id', 'last_used_at', 'name']);
      assert.match(item.created_at, ISO_MS);
      assert.equal(item.last_used_at, null, 'not used yet');
    }
    assert.ok(!res.text.includes(a.body.token) && !res.text.includes(b.body.token), 'no token secret in the list');
  });

  it("when a user lists tokens, then another user's tokens are not there", async () => {
    const mine = await tokenUser(t, 'mine');
    await tokenUser(t, 'theirs');
    const res = await list(mine);
    assert.equal(res.body.data.length, 1);
  });

  it('when a token has been used, then the list shows last_used_at', async () => {
    const u = await tokenUser(t, 'used');
    const before = Date.now();
    await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
    // The use is recorded without holding up the request, so allow it a moment.
    let lastUsed: string | null = null;
    for (let i = 0; i < 20 && lastUsed === null; i += 1) {
      lastUsed = (await list(u)).body.data[0].last_used_at;
      if (lastUsed === null) await sleep(50);
    }
    assert.ok(lastUsed, 'last_used_at is set after a use');
    assert.match(lastUsed, ISO_MS);
    assert.ok(Math.abs(Date.parse(lastUsed) - before) < 60_000, `last_used_at ${lastUsed} is about now`);
  });

  it('when a token is revoked, then 204 and the token is refused with 401 afterwards', async () => {
    const u = await tokenUser(t, 'revoke');
    const id = (await list(u)).body.data[0].id;
    await t.http().get('/api/me').set('Authorization', u.auth).expect(200);
    const res = await t.http().delete(`/api/tokens/${id}`).set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).expect(204);
    assert.equal(res.text, '');
    const refused = await t.http().get('/api/me').set('Authorization', u.auth);
    assert.equal(assertProblem(refused, 401).retryable, false);
    assert.match(String(refused.headers['www-authenticate']), /^Bearer /);
    assert.deepEqual((await list(u)).body.data, []);
  });

  it('when a token revokes itself, then 204 and it stops working', async () => {
    const u = await tokenUser(t, 'self-revoke');
    const id = (await list(u)).body.data[0].id;
    await t.http().delete(`/api/tokens/${id}`).set('Authorization', u.auth).expect(204);
    assertProblem(await t.http().get('/api/tokens').set('Authorization', u.auth), 401);
  });

  it('when the token id is unknown, then 404', async () => {
    const u = await signUp(t, 'unknown-id');
    const res = await t.http().delete(`/api/tokens/${randomUUID()}`).set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf);
    assert.equal(assertProblem(res, 404).retryable, false);
  });

  it('when the token id is malformed, then 404, not 400 or 500', async () => {
    const u = await signUp(t, 'bad-id');
    for (const id of ['not-a-uuid', '123', `${randomUUID()}x`]) {
      assertProblem(await t.http().delete(`/api/tokens/${id}`).set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf), 404);
    }
  });

  it("when a user revokes another user's token id, then 404 and that token keeps working", async () => {
    const victim = await tokenUser(t, 'victim');
    const victimTokenId = (await list(victim)).body.data[0].id;
    const attacker = await signUp(t, 'attacker');
    const res = await t.http().delete(`/api/tokens/${victimTokenId}`).set('Cookie', attacker.cookie).set('X-CSRF-Token', attacker.csrf);
    assertProblem(res, 404);
    await t.http().get('/api/me').set('Authorization', victim.auth).expect(200);
  });

  it('when the name is empty, too long or missing, then 422 names the name field', async () => {
    const u = await signUp(t, 'bad-name');
    for (const body of [{ name: '   ' }, { name: 'n'.repeat(101) }, {}]) {
      const res = await t.http().post('/api/tokens').set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).send(body);
      assert.deepEqual(errorFields(assertProblem(res, 422)), ['name'], JSON.stringify(body));
    }
    assert.deepEqual((await list(u)).body.data, []);
  });

  it('when the bearer token is made up, then 401 with a Bearer challenge', async () => {
    const res = await t.http().get('/api/me').set('Authorization', 'Bearer tdo_made-up-token');
    assertProblem(res, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer .*invalid_token/);
  });

  it('when there are no credentials, then the tokens routes are 401', async () => {
    assertProblem(await t.http().get('/api/tokens'), 401);
    assertProblem(await t.http().post('/api/tokens').send({ name: 'x' }), 401);
    assertProblem(await t.http().delete(`/api/tokens/${randomUUID()}`), 401);
  });
});
