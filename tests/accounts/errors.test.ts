import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type request from 'supertest';
import { assertProblem, signUp, startApp, uniqueEmail, type TestApp } from '../helpers/app';
import { errorFields, PASSWORD } from '../helpers/accounts';

// Every refusal must be a problem+json a client can act on, and must not
// leave an account behind.
describe('account error responses', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  const accountCount = async (email: string) =>
    (await t.deps.db.query('SELECT 1 FROM users WHERE lower(email) = lower($1)', [email])).rowCount;

  /** A problem that is not worth retrying as it is, carrying no stack trace or SQL. */
  function assertFinal(res: request.Response, status: number) {
    const problem = assertProblem(res, status);
    assert.equal(problem.retryable, false);
    assert.match(String(problem.type), /\S/);
    assert.doesNotMatch(res.text, /\bat \S+ \(|node_modules|SELECT |INSERT |duplicate key/i);
    return problem;
  }

  it('when the JSON body is malformed, then 400', async () => {
    const email = uniqueEmail('bad-json');
    const res = await t.http().post('/api/users').set('Content-Type', 'application/json').send(`{"email":"${email}","password":`);
    assertFinal(res, 400);
    assert.equal(await accountCount(email), 0);
  });

  it("when the body claims a compression it does not have, then 400 (the client's fault, not a retryable 500)", async () => {
    for (const encoding of ['gzip', 'deflate', 'br']) {
      const email = uniqueEmail('bad-gzip');
      const res = await t
        .http()
        .post('/api/users')
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', encoding)
        .send(JSON.stringify({ email, password: PASSWORD }));
      assertFinal(res, 400);
      assert.equal(await accountCount(email), 0);
    }
  });

  it('when nobody is logged in, then 401', async () => {
    assertFinal(await t.http().get('/api/me'), 401);
  });

  it('when a protected route answers 401, then it says how to authenticate in WWW-Authenticate', async () => {
    const res = await t.http().get('/api/me');
    assertProblem(res, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer/, 'RFC 9110: a 401 carries a challenge');
  });

  it('when the CSRF token is missing, then 403', async () => {
    const u = await signUp(t, 'err-403');
    assertFinal(await t.http().post('/api/tokens').set('Cookie', u.cookie).send({ name: 'x' }), 403);
  });

  it('when the e-mail is taken, then 409 names email with what is expected', async () => {
    const u = await signUp(t, 'err-409');
    const problem = assertFinal(await t.http().post('/api/users').send({ email: u.email, password: PASSWORD }), 409);
    assert.deepEqual(errorFields(problem), ['email']);
  });

  it('when a JSON body is over 16 KiB, then 413 and no account is made', async () => {
    const email = uniqueEmail('big');
    const res = await t
      .http()
      .post('/api/users')
      .send({ email, password: PASSWORD, padding: 'x'.repeat(16 * 1024) });
    assertFinal(res, 413);
    assert.equal(await accountCount(email), 0);
  });

  it('when a form body is over 16 KiB, then 413', async () => {
    const res = await t
      .http()
      .post('/api/session')
      .type('form')
      .send({ email: uniqueEmail('big-form'), password: 'p'.repeat(17 * 1024) });
    assertFinal(res, 413);
  });

  it('when a JSON body is just under 16 KiB, then it is parsed and judged on its fields (422, not 413)', async () => {
    const res = await t
      .http()
      .post('/api/users')
      .send({ email: uniqueEmail('almost'), password: 'p'.repeat(15 * 1024) });
    assert.deepEqual(errorFields(assertFinal(res, 422)), ['password']);
  });

  it('when the body is text/plain, then 415 and no account is made', async () => {
    const email = uniqueEmail('text');
    const res = await t
      .http()
      .post('/api/users')
      .set('Content-Type', 'text/plain')
      .send(JSON.stringify({ email, password: PASSWORD }));
    assertFinal(res, 415);
    assert.equal(await accountCount(email), 0);
  });

  it('when the e-mail is not an address, then 422 names email with what is expected', async () => {
    for (const email of ['not-an-email', '', 'a@', `${'x'.repeat(250)}@example.test`, 42]) {
      const res = await t.http().post('/api/users').send({ email, password: PASSWORD });
      assert.deepEqual(errorFields(assertFinal(res, 422)), ['email'], JSON.stringify(email));
    }
  });

  it('when the password is shorter than 12 characters, then 422 names password, says 12 to 200, and no account is made', async () => {
    const email = uniqueEmail('short');
    for (const password of ['12345678901', '🔑'.repeat(11), 'short', '']) {
      const res = await t.http().post('/api/users').send({ email, password });
      const problem = assertFinal(res, 422);
      assert.deepEqual(errorFields(problem), ['password'], `${[...password].length} characters`);
      const [error] = problem.errors as { message: string; expected: string }[];
      assert.match(error!.message, /12 to 200/);
      assert.match(error!.expected, /12 to 200/);
    }
    assert.equal(await accountCount(email), 0);
  });

  it('when the password is longer than 200 characters, then 422 names password', async () => {
    const res = await t
      .http()
      .post('/api/users')
      .send({ email: uniqueEmail('long'), password: 'p'.repeat(201) });
    assert.deepEqual(errorFields(assertFinal(res, 422)), ['password']);
  });

  it('when the body has an unknown field, then 422 names that field and lists the known ones', async () => {
    const email = uniqueEmail('extra');
    const res = await t.http().post('/api/users').send({ email, password: PASSWORD, is_admin: true });
    const problem = assertFinal(res, 422);
    assert.deepEqual(errorFields(problem), ['is_admin']);
    const [error] = problem.errors as { expected: string }[];
    assert.match(error!.expected, /email/);
    assert.match(error!.expected, /password/);
    assert.equal(await accountCount(email), 0);
  });

  it('when the body is empty, then 422 names both email and password', async () => {
    const res = await t.http().post('/api/users');
    assert.deepEqual(errorFields(assertFinal(res, 422)).sort(), ['email', 'password']);
  });

  it('when the log-in body is invalid, then 422 rather than 401', async () => {
    const res = await t.http().post('/api/session').send({ email: 'nope', password: PASSWORD });
    assert.deepEqual(errorFields(assertFinal(res, 422)), ['email']);
  });

  it('when the client sends an X-Request-Id, then the header and the problem carry it', async () => {
    const id = `test-req-${Date.now()}`;
    const res = await t
      .http()
      .post('/api/session')
      .set('X-Request-Id', id)
      .send({ email: uniqueEmail('rid'), password: PASSWORD });
    assertFinal(res, 401);
    assert.equal(res.headers['x-request-id'], id);
    assert.equal(res.body.request_id, id);
  });

  it('when two requests fail without an X-Request-Id, then each gets its own id', async () => {
    const a = assertProblem(await t.http().get('/api/me'), 401);
    const b = assertProblem(await t.http().get('/api/me'), 401);
    assert.notEqual(a.request_id, b.request_id);
  });
});
