import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type request from 'supertest';
import { assertProblem, signUp, uniqueEmail, type SessionUser, type TestApp } from '../helpers/app';
import { PASSWORD } from '../helpers/accounts';
import { limitKeyPrefix } from '../../app/rate-limits';
import { deleteKeys, dropRedis, settleRedis, startCachingApp } from '../helpers/caching';

// Log-in and sign-up counters live in Redis for 15 minutes and the per-IP one
// (127.0.0.1) is shared with every other test, so each test starts it afresh.
const IP_KEYS = `${limitKeyPrefix('login-ip')}*`;

function assertTooMany(res: request.Response, limiter: 'login-email' | 'login-ip'): void {
  const problem = assertProblem(res, 429);
  assert.equal(problem.retryable, true);
  assert.match(String(res.headers['retry-after']), /^\d+$/);
  assert.ok(Number(res.headers['retry-after']) >= 1 && Number(res.headers['retry-after']) <= 900);
  assert.match(String(res.headers.ratelimit), new RegExp(`"${limiter}"; r=0; t=\\d+`));
  assert.match(String(res.headers['ratelimit-policy']), new RegExp(`"${limiter}"; q=\\d+; w=900`));
  assert.equal(res.headers['set-cookie'], undefined, 'no session is started');
}

const logIn = (t: TestApp, email: string, password: string) => t.http().post('/api/session').send({ email, password });

describe('log-in limit per e-mail: 3 failures per 15 minutes, across instances', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    const env = { LOGIN_LIMIT_PER_EMAIL: '3', LOGIN_LIMIT_PER_IP: '1000' };
    [a, b] = await Promise.all([startCachingApp(env), startCachingApp(env)]);
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('when the password is wrong 3 times on two instances alternately, then the 4th log-in is 429 even with the right password, and another e-mail is unaffected', async () => {
    await deleteKeys(a.deps.redis, IP_KEYS);
    const [u, other] = [await signUp(a, 'guessed'), await signUp(b, 'bystander')];
    for (const t of [a, b, a]) assertProblem(await logIn(t, u.email, 'not the password'), 401);
    assertTooMany(await logIn(b, u.email, u.password), 'login-email');
    assertTooMany(await logIn(a, u.email.toUpperCase(), u.password), 'login-email');

    const ok = await logIn(a, other.email, other.password);
    assert.equal(ok.status, 201, ok.text);
    assertProblem(await logIn(b, other.email, 'not the password'), 401);
    // The user's existing session is not touched by the limit.
    await a.http().get('/api/session').set('Cookie', u.cookie).expect(200);
  });

  it('when log-ins succeed, then they do not count against the per-e-mail limit', async () => {
    await deleteKeys(a.deps.redis, IP_KEYS);
    const u = await signUp(a, 'regular');
    for (let i = 0; i < 6; i++) {
      const res = await logIn(i % 2 ? b : a, u.email, u.password);
      assert.equal(res.status, 201, `successful log-in ${i + 1}: ${res.text}`);
    }
    for (const t of [b, a, b]) assertProblem(await logIn(t, u.email, 'not the password'), 401);
    assertTooMany(await logIn(a, u.email, u.password), 'login-email');
  });
});

describe('log-in and sign-up limit per IP', () => {
  let a: TestApp;
  let strict: TestApp;
  before(async () => {
    [a, strict] = await Promise.all([startCachingApp(), startCachingApp({ LOGIN_LIMIT_PER_IP: '4' })]);
  });
  after(async () => {
    await deleteKeys(a.deps.redis, IP_KEYS);
    await Promise.all([a.close(), strict.close()]);
  });

  it('when a 5th sign-up or log-in comes from 127.0.0.1, then it is 429, while other routes still answer', async () => {
    const users: SessionUser[] = [await signUp(a, 'ip-1'), await signUp(a, 'ip-2')];
    await deleteKeys(a.deps.redis, IP_KEYS);

    const signUp1 = await strict
      .http()
      .post('/api/users')
      .send({ email: uniqueEmail('ip-new'), password: PASSWORD });
    assert.equal(signUp1.status, 201, signUp1.text);
    const signUp2 = await strict
      .http()
      .post('/api/users')
      .send({ email: uniqueEmail('ip-new'), password: PASSWORD });
    assert.equal(signUp2.status, 201, signUp2.text);
    for (const u of users) {
      const res = await logIn(strict, u.email, u.password);
      assert.equal(res.status, 201, `log-in of ${u.email}: ${res.text}`);
    }

    assertTooMany(await logIn(strict, users[0]!.email, users[0]!.password), 'login-ip');
    const email = uniqueEmail('ip-refused');
    assertTooMany(await strict.http().post('/api/users').send({ email, password: PASSWORD }), 'login-ip');
    const { rows } = await a.deps.db.query('SELECT 1 FROM users WHERE email = $1', [email]);
    assert.equal(rows.length, 0, 'the refused sign-up created no account');
    await strict.http().get('/api/session').set('Cookie', users[1]!.cookie).expect(200);
  });
});

describe('log-in limits while Redis is lost: fail open', () => {
  let a: TestApp;
  let strict: TestApp;
  before(async () => {
    [a, strict] = await Promise.all([startCachingApp(), startCachingApp({ LOGIN_LIMIT_PER_EMAIL: '1', LOGIN_LIMIT_PER_IP: '1' })]);
  });
  afterEach(() => settleRedis(strict));
  after(async () => {
    await Promise.all([a.close(), strict.close()]);
  });

  it('when an instance has lost Redis, then log-ins and sign-ups beyond both limits go through, and nothing is 5xx', async () => {
    const u = await signUp(a, 'no-redis');
    await dropRedis(strict);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await logIn(strict, u.email, 'not the password')).status);
    statuses.push((await logIn(strict, u.email, u.password)).status);
    statuses.push(
      (
        await strict
          .http()
          .post('/api/users')
          .send({ email: uniqueEmail('no-redis'), password: PASSWORD })
      ).status,
    );
    assert.deepEqual(statuses, [401, 401, 401, 401, 401, 201, 201]);
  });
});
