import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type request from 'supertest';
import { assertProblem, tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import { limitKeyPrefix } from '../../app/rate-limits';
import { deleteKeys, dropRedis, fallbacks, settleRedis, startCachingApp } from '../helpers/caching';
import { countTodos } from '../helpers/todos';

const LIMIT = 5;

/** Asserts the draft-8 RateLimit headers of the general limit: `remaining` left of 5 per 60 s. */
function assertLimitHeaders(res: request.Response, remaining: number): void {
  assert.match(String(res.headers['ratelimit-policy']), new RegExp(`^"general"; q=${LIMIT}; w=60; pk=:[^:]+:$`));
  const header = String(res.headers.ratelimit);
  const match = new RegExp(`^"general"; r=${remaining}; t=(\\d+)$`).exec(header);
  assert.ok(match, `RateLimit should say ${remaining} left, got ${header}`);
  assert.ok(Number(match[1]) >= 1 && Number(match[1]) <= 60, `reset in ${match[1]} s`);
}

const list = (t: TestApp, u: TokenUser) => t.http().get('/api/todos').set('Authorization', u.auth);

function assertTooMany(res: request.Response): void {
  const problem = assertProblem(res, 429);
  assert.equal(problem.type, '/problems/rate-limited');
  assert.equal(problem.retryable, true);
  const retryAfter = String(res.headers['retry-after']);
  assert.match(retryAfter, /^\d+$/, 'Retry-After is a number of seconds');
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter}`);
  assertLimitHeaders(res, 0);
}

describe('general rate limit: per user, shared by all instances', () => {
  let plain: TestApp;
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    // Users are made on an instance without the limit: sign-ups would count
    // against 127.0.0.1, which every test shares.
    [plain, a, b] = await Promise.all([
      startCachingApp({ RATE_LIMIT_PER_MINUTE: '0' }),
      startCachingApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT) }),
      startCachingApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT) }),
    ]);
  });
  afterEach(() => settleRedis(a));
  after(async () => {
    await Promise.all([plain.close(), a.close(), b.close()]);
  });

  it('when a user sends a 6th request within a minute, then 429 problem+json with Retry-After and RateLimit headers, and another user is unaffected', async () => {
    const [u, other] = await Promise.all([tokenUser(plain, 'limited'), tokenUser(plain, 'unaffected')]);
    for (let i = 0; i < LIMIT; i++) {
      const res = await list(a, u);
      assert.equal(res.status, 200, `request ${i + 1}: ${res.text}`);
    }
    assertTooMany(await list(a, u));
    const write = await a.http().post('/api/todos').set('Authorization', u.auth).send({ content: 'over the limit' });
    assertTooMany(write);
    assert.equal(await countTodos(a, u.id), 0, 'a limited write does nothing');

    // Same IP (127.0.0.1), another user: the limit is per user.
    for (let i = 0; i < LIMIT; i++) {
      const res = await list(a, other);
      assert.equal(res.status, 200, `other user, request ${i + 1}: ${res.text}`);
    }
  });

  it('when a request is within the limit, then its RateLimit headers say how many are left', async () => {
    const u = await tokenUser(plain, 'headers');
    for (let i = 0; i < LIMIT; i++) {
      assertLimitHeaders(await a.http().get('/api/me').set('Authorization', u.auth).expect(200), LIMIT - 1 - i);
    }
    assertTooMany(await a.http().get('/api/me').set('Authorization', u.auth));
  });

  it('when the first page is read with a token or a session, then it carries the same RateLimit headers as any other /api answer', async () => {
    const u = await tokenUser(plain, 'first-page');
    assertLimitHeaders(await list(a, u).expect(200), LIMIT - 1);
    assertLimitHeaders(await a.http().get('/api/todos?limit=5').set('Cookie', u.cookie).expect(200), LIMIT - 2);
    assertLimitHeaders(await a.http().get('/api/me').set('Authorization', u.auth).expect(200), LIMIT - 3);
  });

  it("when one user's requests go to two instances alternately, then they count against one shared limit", async () => {
    const u = await tokenUser(plain, 'shared');
    for (let i = 0; i < LIMIT; i++) {
      const res = await list(i % 2 ? b : a, u);
      assert.equal(res.status, 200, `request ${i + 1}: ${res.text}`);
    }
    assertTooMany(await list(b, u));
    assertTooMany(await list(a, u));
  });

  it("when requests carry a bad API token, then they count against the client's limit too (per IP)", async () => {
    await deleteKeys(a.deps.redis, `${limitKeyPrefix('general')}ip:*`);
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT; i++) {
      statuses.push((await a.http().get('/api/todos').set('Authorization', `Bearer tdo_guess${i}`)).status);
    }
    assert.deepEqual(statuses.slice(0, LIMIT), Array(LIMIT).fill(401));
    assertTooMany(await a.http().get('/api/todos').set('Authorization', 'Bearer tdo_guess-again'));
  });

  it('when an instance has lost Redis, then the limit lets requests through (fail open) and nothing is 5xx', async () => {
    const u = await tokenUser(plain, 'fail-open');
    const before = await fallbacks(a);
    await dropRedis(a);
    const statuses: number[] = [];
    for (let i = 0; i < 3 * LIMIT; i++) {
      statuses.push((await list(a, u)).status);
      statuses.push(
        (
          await a
            .http()
            .post('/api/todos')
            .set('Authorization', u.auth)
            .send({ content: `t${i}` })
        ).status,
      );
    }
    assert.deepEqual([...new Set(statuses)].sort(), [200, 201], `statuses: ${statuses.join(' ')}`);
    assert.equal(await countTodos(a, u.id), 3 * LIMIT);
    assert.ok((await fallbacks(a)) > before, 'each pass is counted in redis_fallbacks_total');
  });
});

describe('general rate limit after Redis loses its scripts (SCRIPT FLUSH, as a Redis restart does)', () => {
  let plain: TestApp;
  let a: TestApp;
  before(async () => {
    [plain, a] = await Promise.all([
      startCachingApp({ RATE_LIMIT_PER_MINUTE: '0' }),
      startCachingApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT) }),
    ]);
  });
  after(async () => {
    // Load the limiter's scripts again for whatever runs next.
    const fresh = await startCachingApp({ RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    await fresh.http().get('/api/todos');
    await Promise.all([plain.close(), a.close(), fresh.close()]);
  });

  it('when the scripts are gone, then the limit reloads them and keeps counting, and the cache is not bypassed', async () => {
    const u = await tokenUser(plain, 'script-flush');
    for (let i = 0; i < 2; i++) assert.equal((await list(a, u)).status, 200);
    await a.deps.redis.script('FLUSH');
    const seen: Array<{ status: number; xCache: string; rateLimit: string }> = [];
    for (let i = 2; i <= LIMIT; i++) {
      const res = await list(a, u);
      seen.push({ status: res.status, xCache: String(res.headers['x-cache']), rateLimit: String(res.headers.ratelimit) });
    }
    const report = JSON.stringify(seen);
    assert.deepEqual(
      seen.map((r) => r.status),
      [200, 200, 200, 429],
      `the 6th request must be limited: ${report}`,
    );
    assert.ok(
      seen.every((r) => r.xCache !== 'BYPASS'),
      `a missing script is no Redis outage: ${report}`,
    );
    assert.equal(a.deps.breaker.isOpen, false, 'the breaker stayed closed');
  });
});
