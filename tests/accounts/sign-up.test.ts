import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem, startApp, uniqueEmail, type TestApp } from '../helpers/app';
import { assertPublicUser, errorFields, JSON_UTF8, PASSWORD, sessionStatus, sidCookieOf } from '../helpers/accounts';

describe('POST /api/users (sign-up)', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  it('when a new e-mail signs up, then 201 returns the user and a CSRF token, and no password hash', async () => {
    const email = uniqueEmail('signup');
    const res = await t.http().post('/api/users').send({ email, password: PASSWORD }).expect(201);
    assert.match(String(res.headers['content-type']), JSON_UTF8);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.deepEqual(Object.keys(res.body).sort(), ['csrf_token', 'user']);
    assertPublicUser(res.body.user, { email, public_slug: null });
    assert.equal(typeof res.body.csrf_token, 'string');
    assert.ok(res.body.csrf_token.length >= 32, 'the CSRF token is long enough not to be guessed');
    assert.doesNotMatch(res.text, /password|scrypt/i);
  });

  it('when a user signs up over plain http, then the sid cookie is HttpOnly, SameSite=Lax, Path=/ and not Secure', async () => {
    const res = await t
      .http()
      .post('/api/users')
      .send({ email: uniqueEmail('cookie'), password: PASSWORD })
      .expect(201);
    const { value, attrs } = sidCookieOf(res);
    assert.ok(value.length >= 32, `the sid is an opaque random id, got ${value}`);
    assert.ok(!value.includes(res.body.user.id), 'the sid does not carry the user id');
    assert.notEqual(value, res.body.csrf_token);
    assert.ok(attrs.has('httponly'), 'HttpOnly');
    assert.equal(attrs.get('samesite'), 'Lax');
    assert.equal(attrs.get('path'), '/');
    assert.ok(!attrs.has('secure'), 'no Secure flag over plain http');
  });

  it('when sign-up returns, then the user is signed in at once with the same CSRF token', async () => {
    const email = uniqueEmail('signed-in');
    const res = await t.http().post('/api/users').send({ email, password: PASSWORD }).expect(201);
    const cookie = `sid=${sidCookieOf(res).value}`;
    const session = await t.http().get('/api/session').set('Cookie', cookie).expect(200);
    assertPublicUser(session.body.user, { id: res.body.user.id, email });
    assert.equal(session.body.csrf_token, res.body.csrf_token);
  });

  it('when a browser that holds a session signs up a new account, then the old session ends', async () => {
    const first = await t
      .http()
      .post('/api/users')
      .send({ email: uniqueEmail('first'), password: PASSWORD })
      .expect(201);
    const oldCookie = `sid=${sidCookieOf(first).value}`;
    const second = await t
      .http()
      .post('/api/users')
      .set('Cookie', oldCookie)
      .send({ email: uniqueEmail('second'), password: PASSWORD })
      .expect(201);
    assert.equal(await sessionStatus(t, `sid=${sidCookieOf(second).value}`), 200);
    assert.equal(await sessionStatus(t, oldCookie), 401);
  });

  it('when the e-mail is already registered in another case, then 409 names the email field and no second account exists', async () => {
    const email = uniqueEmail('dup');
    const first = await t.http().post('/api/users').send({ email, password: PASSWORD }).expect(201);
    const res = await t.http().post('/api/users').send({ email: email.toUpperCase(), password: 'another password' });
    const problem = assertProblem(res, 409);
    assert.equal(problem.retryable, false);
    assert.deepEqual(errorFields(problem), ['email']);
    assert.equal(res.headers['set-cookie'], undefined, 'a refused sign-up sets no cookie');
    const { rows } = await t.deps.db.query('SELECT id FROM users WHERE lower(email) = lower($1)', [email]);
    assert.deepEqual(
      rows.map((r) => r.id),
      [first.body.user.id],
    );
  });

  it('when the same e-mail signs up twice exactly, then the second gets 409', async () => {
    const email = uniqueEmail('dup-exact');
    await t.http().post('/api/users').send({ email, password: PASSWORD }).expect(201);
    assertProblem(await t.http().post('/api/users').send({ email, password: PASSWORD }), 409);
  });

  it('when an HTML form on this site posts the sign-up, then it works like JSON', async () => {
    const email = uniqueEmail('form');
    // A browser's form carries the page's Origin (tests/accounts/same-origin.test.ts).
    const res = await t.http().post('/api/users').set('Origin', t.url).type('form').send({ email, password: PASSWORD }).expect(201);
    assert.match(String(res.headers['content-type']), JSON_UTF8);
    assertPublicUser(res.body.user, { email });
    assert.equal(await sessionStatus(t, `sid=${sidCookieOf(res).value}`), 200);
  });

  it('when the password is exactly 12 or 200 characters, then sign-up succeeds', async () => {
    for (const password of ['123456789012', 'p'.repeat(200), '🔑'.repeat(12)]) {
      const res = await t
        .http()
        .post('/api/users')
        .send({ email: uniqueEmail('edge'), password });
      assert.equal(res.status, 201, `password of ${[...password].length} characters: ${res.text}`);
    }
  });

  it('when the e-mail has surrounding spaces, then it is stored trimmed', async () => {
    const email = uniqueEmail('trim');
    const res = await t
      .http()
      .post('/api/users')
      .send({ email: `  ${email} `, password: PASSWORD })
      .expect(201);
    assert.equal(res.body.user.email, email);
  });

  it('when the request says it comes from another site, then sign-up is 403 and no account is made', async () => {
    const email = uniqueEmail('cross-site');
    const res = await t.http().post('/api/users').set('Sec-Fetch-Site', 'cross-site').send({ email, password: PASSWORD });
    const problem = assertProblem(res, 403);
    assert.equal(problem.retryable, false);
    assert.equal(res.headers['set-cookie'], undefined);
    const { rowCount } = await t.deps.db.query('SELECT 1 FROM users WHERE lower(email) = lower($1)', [email]);
    assert.equal(rowCount, 0);
  });

  it('when the request comes from the same origin, then sign-up is allowed', async () => {
    await t
      .http()
      .post('/api/users')
      .set('Sec-Fetch-Site', 'same-origin')
      .send({ email: uniqueEmail('same-origin'), password: PASSWORD })
      .expect(201);
  });
});

describe('POST /api/users behind an HTTPS proxy', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp({ TRUST_PROXY_HOPS: '1' });
  });
  after(() => t.close());

  it('when the trusted proxy says the request came over https, then the sid cookie is Secure', async () => {
    const res = await t
      .http()
      .post('/api/users')
      .set('X-Forwarded-Proto', 'https')
      .send({ email: uniqueEmail('https'), password: PASSWORD })
      .expect(201);
    const { attrs } = sidCookieOf(res);
    assert.ok(attrs.has('secure'), 'Secure over https');
    assert.ok(attrs.has('httponly'));
    assert.match(String(res.headers['set-cookie']), /^__Host-sid=/, 'with the __Host- prefix');
  });

  it('when the trusted proxy says the request came over http, then the sid cookie is not Secure', async () => {
    const res = await t
      .http()
      .post('/api/users')
      .set('X-Forwarded-Proto', 'http')
      .send({ email: uniqueEmail('http'), password: PASSWORD })
      .expect(201);
    assert.ok(!sidCookieOf(res).attrs.has('secure'));
  });
});
