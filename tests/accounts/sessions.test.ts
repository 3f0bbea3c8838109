import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem, signUp, startApp, tokenUser, uniqueEmail, type TestApp } from '../helpers/app';
import { assertPublicUser, JSON_UTF8, logIn, PASSWORD, sessionStatus, sidCookieOf } from '../helpers/accounts';

describe('POST /api/session (log-in)', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  it('when the password is right, then 201 returns the user, a CSRF token and a working sid cookie', async () => {
    const u = await signUp(t, 'login');
    const res = await t.http().post('/api/session').send({ email: u.email, password: u.password }).expect(201);
    assert.match(String(res.headers['content-type']), JSON_UTF8);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.deepEqual(Object.keys(res.body).sort(), ['csrf_token', 'user']);
    assertPublicUser(res.body.user, { id: u.id, email: u.email });
    const { value, attrs } = sidCookieOf(res);
    assert.ok(attrs.has('httponly'));
    assert.equal(attrs.get('samesite'), 'Lax');
    assert.equal(attrs.get('path'), '/');
    assert.ok(!attrs.has('secure'));
    const me = await t.http().get('/api/me').set('Cookie', `sid=${value}`).expect(200);
    assert.equal(me.body.user.id, u.id);
  });

  it('when the e-mail is typed in another case, then log-in still succeeds', async () => {
    const u = await signUp(t, 'case');
    const res = await t.http().post('/api/session').send({ email: u.email.toUpperCase(), password: u.password }).expect(201);
    assert.equal(res.body.user.id, u.id);
  });

  it('when the password is wrong, then 401 and no cookie', async () => {
    const u = await signUp(t, 'wrong-pw');
    const res = await t.http().post('/api/session').send({ email: u.email, password: 'not the password' });
    const problem = assertProblem(res, 401);
    assert.equal(problem.retryable, false);
    assert.equal(res.headers['set-cookie'], undefined);
  });

  it('when the e-mail is unknown, then 401 with the same detail as a wrong password', async () => {
    const u = await signUp(t, 'enumerate');
    const wrong = assertProblem(await t.http().post('/api/session').send({ email: u.email, password: 'not the password' }), 401);
    const res = await t
      .http()
      .post('/api/session')
      .send({ email: uniqueEmail('nobody'), password: PASSWORD });
    const unknown = assertProblem(res, 401);
    assert.equal(res.headers['set-cookie'], undefined);
    assert.equal(unknown.detail, wrong.detail, 'the answer does not reveal which e-mails have accounts');
    assert.equal(unknown.type, wrong.type);
  });

  it('when a user logs in twice, then each log-in is a new session with its own sid and CSRF token, both working', async () => {
    const u = await signUp(t, 'twice');
    const a = await logIn(t, u.email);
    const b = await logIn(t, u.email);
    assert.notEqual(a.cookie, b.cookie);
    assert.notEqual(a.csrf, b.csrf);
    assert.notEqual(a.cookie, u.cookie);
    for (const s of [u, a, b]) {
      const res = await t.http().get('/api/session').set('Cookie', s.cookie).expect(200);
      assert.equal(res.body.csrf_token, s.csrf);
      assert.equal(res.body.user.id, u.id);
    }
  });

  it('when a browser logs in while it holds a session, then it gets a new sid and the old one ends', async () => {
    const u = await signUp(t, 'fixation');
    const res = await t.http().post('/api/session').set('Cookie', u.cookie).send({ email: u.email, password: u.password }).expect(201);
    const fresh = `sid=${sidCookieOf(res).value}`;
    assert.notEqual(fresh, u.cookie);
    assert.equal(await sessionStatus(t, fresh), 200);
    assert.equal(await sessionStatus(t, u.cookie), 401);
  });

  it('when an HTML form on this site posts the log-in, then it works like JSON', async () => {
    const u = await signUp(t, 'form-login');
    // A browser's form carries the page's Origin (tests/accounts/same-origin.test.ts).
    const res = await t
      .http()
      .post('/api/session')
      .set('Origin', t.url)
      .type('form')
      .send({ email: u.email, password: u.password })
      .expect(201);
    assert.equal(res.body.user.id, u.id);
    assert.equal(await sessionStatus(t, `sid=${sidCookieOf(res).value}`), 200);
  });

  it('when the log-in says it comes from another site, then 403 and no cookie', async () => {
    const u = await signUp(t, 'cross-login');
    const res = await t.http().post('/api/session').set('Sec-Fetch-Site', 'cross-site').send({ email: u.email, password: u.password });
    const problem = assertProblem(res, 403);
    assert.equal(problem.retryable, false);
    assert.equal(res.headers['set-cookie'], undefined);
  });
});

describe('GET /api/session', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  it('when the cookie is valid, then 200 returns the user and the CSRF token given at sign-up', async () => {
    const u = await signUp(t, 'whoami');
    const res = await t.http().get('/api/session').set('Cookie', u.cookie).expect(200);
    assert.match(String(res.headers['content-type']), JSON_UTF8);
    assert.equal(res.headers['cache-control'], 'no-store');
    assertPublicUser(res.body.user, { id: u.id, email: u.email });
    assert.equal(res.body.csrf_token, u.csrf);
  });

  it('when there is no cookie, then 401', async () => {
    const problem = assertProblem(await t.http().get('/api/session'), 401);
    assert.equal(problem.retryable, false);
  });

  it('when the cookie is not a session, then 401', async () => {
    assertProblem(await t.http().get('/api/session').set('Cookie', 'sid=made-up-session-id'), 401);
  });

  it('when only a bearer token is sent, then 401: a token is not a session', async () => {
    const u = await tokenUser(t, 'bearer-session');
    assertProblem(await t.http().get('/api/session').set('Authorization', u.auth), 401);
  });
});

describe('DELETE /api/session (log-out)', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  it('when a user logs out, then 204 with no body and the cookie is cleared', async () => {
    const u = await signUp(t, 'logout');
    const res = await t.http().delete('/api/session').set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).expect(204);
    assert.equal(res.text, '');
    const { value, attrs } = sidCookieOf(res);
    assert.equal(value, '');
    assert.equal(attrs.get('path'), '/');
    const expires = Date.parse(attrs.get('expires') ?? '');
    assert.ok(expires < Date.now() || attrs.get('max-age') === '0', `the cookie expires now: ${JSON.stringify([...attrs])}`);
  });

  it('when a user logs out, then the old cookie no longer works anywhere, even if the browser kept it', async () => {
    const u = await signUp(t, 'revoked');
    await t.http().delete('/api/session').set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).expect(204);
    assertProblem(await t.http().get('/api/session').set('Cookie', u.cookie), 401);
    assertProblem(await t.http().get('/api/me').set('Cookie', u.cookie), 401);
    assertProblem(await t.http().post('/api/tokens').set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).send({ name: 'x' }), 401);
    const { rowCount } = await t.deps.db.query('SELECT 1 FROM sessions WHERE user_id = $1', [u.id]);
    assert.equal(rowCount, 0, 'the session row is gone server-side');
  });

  it('when one session logs out, then another session of the same user keeps working', async () => {
    const u = await signUp(t, 'two-browsers');
    const other = await logIn(t, u.email);
    await t.http().delete('/api/session').set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).expect(204);
    assert.equal(await sessionStatus(t, u.cookie), 401);
    const res = await t.http().get('/api/session').set('Cookie', other.cookie).expect(200);
    assert.equal(res.body.csrf_token, other.csrf);
    await t.http().post('/api/tokens').set('Cookie', other.cookie).set('X-CSRF-Token', other.csrf).send({ name: 'still in' }).expect(201);
  });

  it('when there is no session, then 401', async () => {
    assertProblem(await t.http().delete('/api/session'), 401);
  });

  it('when a bearer token asks to log out, then 401 and the token keeps working', async () => {
    const u = await tokenUser(t, 'bearer-logout');
    assertProblem(await t.http().delete('/api/session').set('Authorization', u.auth), 401);
    await t.http().get('/api/me').set('Authorization', u.auth).expect(200);
    assert.equal(await sessionStatus(t, u.cookie), 200);
  });
});
