import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type request from 'supertest';
import { assertProblem, signUp, uniqueEmail, type SessionUser, type TestApp } from '../helpers/app';
import { PASSWORD, uniqueClientIp } from '../helpers/accounts';
import { limitKeyPrefix } from '../../app/rate-limits';
import { dropRedis, fallbacks, scanKeys, settleRedis, startCachingApp } from '../helpers/caching';

// The apps trust one proxy hop, as behind nginx, and every test sends from
// addresses of its own (X-Forwarded-For), so counters never meet another
// test's; the limits live in Redis for 15 minutes.
const BEHIND_NGINX = { TRUST_PROXY_HOPS: '1' };

type Limiter = Parameters<typeof limitKeyPrefix>[0];

function assertTooMany(res: request.Response, limiter: Limiter, windowSeconds = 900): void {
  const problem = assertProblem(res, 429);
  assert.equal(problem.retryable, true);
  assert.match(String(res.headers['retry-after']), /^\d+$/);
  assert.ok(Number(res.headers['retry-after']) >= 1 && Number(res.headers['retry-after']) <= windowSeconds);
  assert.match(String(res.headers.ratelimit), new RegExp(`"${limiter}"; r=0; t=\\d+`));
  assert.match(String(res.headers['ratelimit-policy']), new RegExp(`"${limiter}"; q=\\d+; w=${windowSeconds}`));
  assert.equal(res.headers['set-cookie'], undefined, 'no session is started');
}

const logIn = (t: TestApp, from: string, email: string, password: string) =>
  t.http().post('/api/session').set('X-Forwarded-For', from).send({ email, password });

async function assertStatuses(attempts: Array<() => Promise<request.Response>>, expected: number[]): Promise<void> {
  const statuses: number[] = [];
  for (const attempt of attempts) statuses.push((await attempt()).status);
  assert.deepEqual(statuses, expected);
}

describe('log-in limits with the default numbers', () => {
  let t: TestApp;
  before(async () => {
    t = await startCachingApp(BEHIND_NGINX);
  });
  after(() => t.close());

  it('when one address fails 5 times for an e-mail, then it is refused even with the right password, and the owner still logs in from elsewhere', async () => {
    const [owner, attacker, home] = [await signUp(t, 'targeted'), uniqueClientIp(), uniqueClientIp()];
    await assertStatuses(
      Array.from({ length: 5 }, () => () => logIn(t, attacker, owner.email, 'not the password')),
      [401, 401, 401, 401, 401],
    );
    assertTooMany(await logIn(t, attacker, owner.email, owner.password), 'login-email-ip');
    const res = await logIn(t, home, owner.email, owner.password);
    assert.equal(res.status, 201, `the owner is not locked out: ${res.text}`);
  });
});

describe('log-in limits per (e-mail, address) and per e-mail, across instances', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    const env = { ...BEHIND_NGINX, LOGIN_LIMIT_PER_EMAIL_AND_IP: '3', LOGIN_LIMIT_PER_EMAIL: '7' };
    [a, b] = await Promise.all([startCachingApp(env), startCachingApp(env)]);
  });
  after(() => Promise.all([a.close(), b.close()]));

  it('when one address fails 3 times on two instances alternately, then its 4th is 429, while the account from another address and another e-mail from that address are fine', async () => {
    const [u, other, from, elsewhere] = [await signUp(a, 'guessed'), await signUp(b, 'bystander'), uniqueClientIp(), uniqueClientIp()];
    for (const t of [a, b, a]) assertProblem(await logIn(t, from, u.email, 'not the password'), 401);
    assertTooMany(await logIn(b, from, u.email, u.password), 'login-email-ip');
    assertTooMany(await logIn(a, from, u.email.toUpperCase(), u.password), 'login-email-ip');

    assert.equal((await logIn(b, elsewhere, u.email, u.password)).status, 201);
    assert.equal((await logIn(a, from, other.email, other.password)).status, 201);
    assertProblem(await logIn(b, from, other.email, 'not the password'), 401);
    // The user's existing session is not touched by the limit.
    await a.http().get('/api/session').set('Cookie', u.cookie).expect(200);
  });

  it('when failures for one e-mail come from many addresses, then the per-e-mail limit refuses the 8th from any address', async () => {
    const [u, x, y, z] = [await signUp(a, 'distributed'), uniqueClientIp(), uniqueClientIp(), uniqueClientIp()];
    const fail = (t: TestApp, from: string) => () => logIn(t, from, u.email, 'not the password');
    await assertStatuses([fail(a, x), fail(b, x), fail(a, x), fail(b, y), fail(a, y), fail(b, y), fail(a, z)], Array(7).fill(401));
    assertTooMany(await logIn(b, uniqueClientIp(), u.email, u.password), 'login-email');
  });

  it('when log-ins succeed, then they count against neither e-mail limit', async () => {
    const [u, from] = [await signUp(a, 'regular'), uniqueClientIp()];
    for (let i = 0; i < 6; i++) {
      const res = await logIn(i % 2 ? b : a, from, u.email, u.password);
      assert.equal(res.status, 201, `successful log-in ${i + 1}: ${res.text}`);
    }
    for (const t of [b, a, b]) assertProblem(await logIn(t, from, u.email, 'not the password'), 401);
    assertTooMany(await logIn(a, from, u.email, u.password), 'login-email-ip');
  });
});

describe('log-in and sign-up limit per address', () => {
  let plain: TestApp;
  let strict: TestApp;
  before(async () => {
    [plain, strict] = await Promise.all([startCachingApp(), startCachingApp({ ...BEHIND_NGINX, LOGIN_LIMIT_PER_IP: '4' })]);
  });
  after(() => Promise.all([plain.close(), strict.close()]));

  it('when a 5th sign-up or log-in comes from one address, then it is 429, while other routes still answer', async () => {
    const [from, users] = [uniqueClientIp(), [await signUp(plain, 'ip-1'), await signUp(plain, 'ip-2')]];
    const signUpFrom = (email: string) => strict.http().post('/api/users').set('X-Forwarded-For', from).send({ email, password: PASSWORD });
    assert.equal((await signUpFrom(uniqueEmail('ip-new'))).status, 201);
    assert.equal((await signUpFrom(uniqueEmail('ip-new'))).status, 201);
    for (const u of users) assert.equal((await logIn(strict, from, u.email, u.password)).status, 201);

    assertTooMany(await logIn(strict, from, users[0]!.email, users[0]!.password), 'login-ip');
    const email = uniqueEmail('ip-refused');
    assertTooMany(await signUpFrom(email), 'login-ip');
    const { rows } = await strict.deps.db.query('SELECT 1 FROM users WHERE email = $1', [email]);
    assert.equal(rows.length, 0, 'the refused sign-up created no account');
    await strict.http().get('/api/session').set('Cookie', users[1]!.cookie).expect(200);
  });
});

describe('log-in attempts from other sites', () => {
  let plain: TestApp;
  let t: TestApp;
  before(async () => {
    [plain, t] = await Promise.all([
      startCachingApp(),
      startCachingApp({
        ...BEHIND_NGINX,
        RATE_LIMIT_PER_MINUTE: '5',
        LOGIN_LIMIT_PER_EMAIL_AND_IP: '2',
        LOGIN_LIMIT_PER_EMAIL: '2',
        LOGIN_LIMIT_PER_IP: '3',
      }),
    ]);
  });
  after(() => Promise.all([plain.close(), t.close()]));

  it('when pages elsewhere make browsers post wrong passwords for an e-mail, then each is 403 and no limiter counts it, so the owner still logs in', async () => {
    const [owner, victim] = [await signUp(plain, 'cross-site-target'), uniqueClientIp()];
    const crossSite: Array<Record<string, string>> = [
      { 'Sec-Fetch-Site': 'cross-site' },
      { Origin: 'https://evil.example' },
      { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' },
    ];
    for (let i = 0; i < 6; i++) {
      const res = await t
        .http()
        .post('/api/session')
        .set('X-Forwarded-For', victim)
        .set(crossSite[i % crossSite.length]!)
        .send({ email: owner.email, password: 'not the password' });
      assert.equal(assertProblem(res, 403).type, '/problems/cross-site');
    }
    const form = await t
      .http()
      .post('/api/session')
      .set('X-Forwarded-For', victim)
      .type('form')
      .send({ email: owner.email, password: 'not the password' });
    assert.equal(assertProblem(form, 403).type, '/problems/cross-site', 'a form that does not say where it comes from');

    const res = await logIn(t, victim, owner.email, owner.password);
    assert.equal(res.status, 201, res.text);
    // The first request any limiter saw: the general limit (5), the per-address one (3).
    assert.match(String(res.headers.ratelimit), /"general"; r=4; /);
    assert.match(String(res.headers.ratelimit), /"login-ip"; r=2; /);
  });
});

describe('log-in limits while Redis is lost: each instance counts on its own', () => {
  let a: TestApp;
  let strict: TestApp;
  let u: SessionUser;
  before(async () => {
    [a, strict] = await Promise.all([
      startCachingApp(),
      startCachingApp({ ...BEHIND_NGINX, LOGIN_LIMIT_PER_EMAIL_AND_IP: '2', LOGIN_LIMIT_PER_EMAIL: '3', LOGIN_LIMIT_PER_IP: '4' }),
    ]);
    u = await signUp(a, 'no-redis');
  });
  afterEach(() => settleRedis(strict));
  after(() => Promise.all([a.close(), strict.close()]));

  it('when an instance has lost Redis, then failed log-ins are still limited per address, per e-mail and per address overall, and nothing is 5xx', async () => {
    const [from, elsewhere, third] = [uniqueClientIp(), uniqueClientIp(), uniqueClientIp()];
    const before = await fallbacks(strict);
    await dropRedis(strict);
    const fail = (ip: string) => () => logIn(strict, ip, u.email, 'not the password');
    await assertStatuses([fail(from), fail(from)], [401, 401]);
    assertTooMany(await logIn(strict, from, u.email, u.password), 'login-email-ip');
    assert.equal((await logIn(strict, elsewhere, u.email, u.password)).status, 201, 'another address still gets in');
    assertProblem(await logIn(strict, elsewhere, u.email, 'not the password'), 401); // the 3rd failure for the e-mail
    assertTooMany(await logIn(strict, third, u.email, u.password), 'login-email');

    const crowd = uniqueClientIp();
    const signUpFrom = () =>
      strict
        .http()
        .post('/api/users')
        .set('X-Forwarded-For', crowd)
        .send({ email: uniqueEmail('no-redis'), password: PASSWORD });
    await assertStatuses([signUpFrom, signUpFrom, signUpFrom, signUpFrom], [201, 201, 201, 201]);
    assertTooMany(await signUpFrom(), 'login-ip');
    assert.ok((await fallbacks(strict)) > before, 'each count without Redis is in redis_fallbacks_total');
  });

  it('when Redis is back, then the limits count there again', async () => {
    const [v, from] = [await signUp(a, 'redis-back'), uniqueClientIp()];
    await dropRedis(strict);
    assertProblem(await logIn(strict, from, v.email, 'not the password'), 401);
    await settleRedis(strict);
    assertProblem(await logIn(strict, from, v.email, 'not the password'), 401);
    const keys = await scanKeys(strict.deps.redis, `${limitKeyPrefix('login-email-ip')}*${from}*`);
    assert.equal(keys.length, 1, 'the failure is counted in Redis');
  });
});
