import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { assertProblem, signUp, startApp, tokenUser, type SessionUser, type TestApp } from '../helpers/app';
import { assertPublicUser, errorFields, JSON_UTF8, uniqueSlug } from '../helpers/accounts';

describe('GET /api/me and PATCH /api/me', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  const patch = (u: SessionUser, body: unknown) =>
    t
      .http()
      .patch('/api/me')
      .set('Cookie', u.cookie)
      .set('X-CSRF-Token', u.csrf)
      .send(body as object);
  const me = async (u: SessionUser) => (await t.http().get('/api/me').set('Cookie', u.cookie).expect(200)).body.user;

  it('when a signed-in user asks who they are, then 200 {user} without a password hash', async () => {
    const u = await signUp(t, 'me');
    const res = await t.http().get('/api/me').set('Cookie', u.cookie).expect(200);
    assert.match(String(res.headers['content-type']), JSON_UTF8);
    assert.deepEqual(Object.keys(res.body), ['user']);
    assertPublicUser(res.body.user, { id: u.id, email: u.email, public_slug: null });
    assert.doesNotMatch(res.text, /password|scrypt/i);
  });

  it('when a bearer token asks who it is, then 200 with its owner', async () => {
    const u = await tokenUser(t, 'me-bearer');
    const res = await t.http().get('/api/me').set('Authorization', u.auth).expect(200);
    assertPublicUser(res.body.user, { id: u.id, email: u.email });
  });

  it('when nobody is signed in, then 401', async () => {
    assert.equal(assertProblem(await t.http().get('/api/me'), 401).retryable, false);
  });

  it('when a user sets a public slug, then 200 returns it and GET /api/me shows it', async () => {
    const u = await signUp(t, 'slug');
    const slug = uniqueSlug();
    const res = await patch(u, { public_slug: slug }).expect(200);
    assert.match(String(res.headers['content-type']), JSON_UTF8);
    assert.deepEqual(Object.keys(res.body), ['user']);
    assertPublicUser(res.body.user, { id: u.id, email: u.email, public_slug: slug });
    assert.equal((await me(u)).public_slug, slug);
  });

  it('when a user sets the slug they already have, then 200', async () => {
    const u = await signUp(t, 'slug-again');
    const slug = uniqueSlug();
    await patch(u, { public_slug: slug }).expect(200);
    const res = await patch(u, { public_slug: slug }).expect(200);
    assert.equal(res.body.user.public_slug, slug);
  });

  it('when a user clears the slug with null, then it is null and another user can take it', async () => {
    const u = await signUp(t, 'clear');
    const slug = uniqueSlug();
    await patch(u, { public_slug: slug }).expect(200);
    const res = await patch(u, { public_slug: null }).expect(200);
    assert.equal(res.body.user.public_slug, null);
    assert.equal((await me(u)).public_slug, null);
    const other = await signUp(t, 'taker');
    assert.equal((await patch(other, { public_slug: slug }).expect(200)).body.user.public_slug, slug);
  });

  it('when the slug is the shortest or longest allowed, then 200', async () => {
    const u = await signUp(t, 'slug-edges');
    const long = uniqueSlug().padEnd(40, '0');
    assert.equal(long.length, 40);
    assert.equal((await patch(u, { public_slug: long }).expect(200)).body.user.public_slug, long);
    // Three characters leave few choices, so another test may hold one: try a few, then give it back.
    let res;
    for (let i = 0; i < 5 && res?.status !== 200; i += 1) {
      res = await patch(u, { public_slug: randomUUID().slice(0, 3) });
      assert.ok(res.status === 200 || res.status === 409, `3 characters is a valid format: ${res.text}`);
    }
    assert.ok(res?.status === 200, 'some 3-character slug was free');
    assert.equal(res.body.user.public_slug.length, 3);
    await patch(u, { public_slug: null }).expect(200);
  });

  it('when the slug has a bad format, then 422 names public_slug with what is expected, and nothing changes', async () => {
    const u = await signUp(t, 'bad-slug');
    const slug = uniqueSlug();
    await patch(u, { public_slug: slug }).expect(200);
    for (const bad of ['ab', 'Upper-Case', 'has space', 'under_score', 'x'.repeat(41), '', 'ünï', 42, true]) {
      const res = await patch(u, { public_slug: bad });
      const problem = assertProblem(res, 422);
      assert.equal(problem.retryable, false);
      assert.deepEqual(errorFields(problem), ['public_slug'], `for ${JSON.stringify(bad)}`);
    }
    assert.equal((await me(u)).public_slug, slug);
  });

  it('when the body has no public_slug or an unknown field, then 422', async () => {
    const u = await signUp(t, 'slug-missing');
    assert.deepEqual(errorFields(assertProblem(await patch(u, {}), 422)), ['public_slug']);
    const unknown = assertProblem(await patch(u, { public_slug: null, email: 'x@example.test' }), 422);
    assert.deepEqual(errorFields(unknown), ['email']);
    assert.equal((await me(u)).email, u.email, 'e-mail is not changed through PATCH /api/me');
  });

  it('when another user already has the slug, then 409 names public_slug and both keep their own', async () => {
    const owner = await signUp(t, 'owner');
    const other = await signUp(t, 'other');
    const slug = uniqueSlug();
    await patch(owner, { public_slug: slug }).expect(200);
    const res = await patch(other, { public_slug: slug });
    const problem = assertProblem(res, 409);
    assert.equal(problem.retryable, false);
    assert.deepEqual(errorFields(problem), ['public_slug']);
    assert.equal((await me(owner)).public_slug, slug);
    assert.equal((await me(other)).public_slug, null);
  });

  it('when a bearer token sets the slug, then no CSRF token is needed', async () => {
    const u = await tokenUser(t, 'slug-bearer');
    const slug = uniqueSlug();
    const res = await t.http().patch('/api/me').set('Authorization', u.auth).send({ public_slug: slug }).expect(200);
    assert.equal(res.body.user.public_slug, slug);
  });

  it('when an HTML form sets the slug, then it works like JSON', async () => {
    const u = await signUp(t, 'slug-form');
    const slug = uniqueSlug();
    const res = await t
      .http()
      .patch('/api/me')
      .set('Cookie', u.cookie)
      .set('X-CSRF-Token', u.csrf)
      .type('form')
      .send({ public_slug: slug })
      .expect(200);
    assert.equal(res.body.user.public_slug, slug);
  });

  it('when an HTML form sends an empty slug, then the slug is cleared', async () => {
    const u = await signUp(t, 'slug-form-clear');
    await patch(u, { public_slug: uniqueSlug() }).expect(200);
    const res = await t
      .http()
      .patch('/api/me')
      .set('Cookie', u.cookie)
      .set('X-CSRF-Token', u.csrf)
      .type('form')
      .send('public_slug=')
      .expect(200);
    assert.equal(res.body.user.public_slug, null);
    assert.equal((await me(u)).public_slug, null);
  });
});
