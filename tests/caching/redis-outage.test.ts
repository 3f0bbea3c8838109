import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { sessionCookie, tokenUser, uniqueEmail, type TestApp, type TokenUser } from '../helpers/app';
import {
  dropRedis,
  epochOf,
  fallbacks,
  firstPageField,
  getList,
  listKey,
  percentile,
  readEntry,
  restoreRedis,
  settleRedis,
  startCachingApp,
  tally,
  xCache,
} from '../helpers/caching';
import { createTodo, sleep, type PageJson } from '../helpers/todos';

const RESUME_WITHIN_MS = 5_000;

/** Reads the first page on t until it is a HIT (the breaker closed and the cache is in use again). */
async function untilHit(t: TestApp, u: TokenUser, check: (page: PageJson, xCache: string) => void): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + RESUME_WITHIN_MS;
  while (Date.now() < deadline) {
    const res = await getList(t, u);
    seen.push(xCache(res));
    check(res.body as PageJson, xCache(res));
    if (xCache(res) === 'HIT') return seen;
    await sleep(20);
  }
  assert.fail(`caching did not resume within ${RESUME_WITHIN_MS} ms: ${seen.join(' ')}`);
}

describe('Redis outage on one instance: served from PostgreSQL, then the cache resumes', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    [a, b] = await Promise.all([startCachingApp(), startCachingApp()]);
  });
  afterEach(() => settleRedis(a));
  after(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('when an instance loses Redis, then its reads (BYPASS) and writes keep succeeding, fast, counted in redis_fallbacks_total; after reconnecting, HITs return', async (ctx) => {
    const u = await tokenUser(a, 'outage');
    await createTodo(a, u, 'before');
    await getList(a, u);
    assert.equal(xCache(await getList(a, u)), 'HIT');
    const fallbacksBefore = await fallbacks(a);

    await dropRedis(a);
    const times: number[] = [];
    let latest = '';
    for (let i = 0; i < 100; i++) {
      const started = performance.now();
      if (i % 2 === 0) {
        const res = await a
          .http()
          .post('/api/todos')
          .set('Authorization', u.auth)
          .send({ content: `during ${i}` });
        assert.equal(res.status, 201, res.text);
        latest = res.body.id;
      } else {
        const res = await getList(a, u);
        assert.equal(xCache(res), 'BYPASS', `request ${i}`);
        assert.equal((res.body as PageJson).data[0]?.id, latest, 'served fresh from PostgreSQL');
      }
      times.push(performance.now() - started);
    }
    const p99 = percentile(times, 99);
    ctx.diagnostic(
      `without Redis: p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms`,
    );
    assert.ok(p99 < 100, `p99 ${p99.toFixed(1)} ms must stay under 100 ms`);
    const fallbacksDuring = await fallbacks(a);
    ctx.diagnostic(`redis_fallbacks_total: ${fallbacksBefore} → ${fallbacksDuring}`);
    assert.ok(fallbacksDuring >= fallbacksBefore + 100, `each request fell back at least once: ${fallbacksBefore} → ${fallbacksDuring}`);

    await restoreRedis(a);
    const seen = await untilHit(a, u, (page) => assert.equal(page.data[0]?.id, latest, 'never an older page'));
    ctx.diagnostic(`X-Cache after reconnecting: ${JSON.stringify(tally(seen))}`);
  });

  it('when a write misses its invalidation during the outage, then after reconnecting the same instance never serves the stale page, because the epoch moved', async (ctx) => {
    const u = await tokenUser(a, 'missed');
    await createTodo(a, u, 'one');
    await getList(a, u);
    const cached = await getList(a, u);
    assert.equal(xCache(cached), 'HIT');
    const epochBefore = await epochOf(b.deps.cacheRedis);

    await dropRedis(a);
    const two = await createTodo(a, u, 'two');
    const during = await getList(a, u);
    assert.equal(xCache(during), 'BYPASS');
    assert.deepEqual(
      (during.body as PageJson).data.map((x) => x.content),
      ['two', 'one'],
    );
    // The write could not reach Redis: the old page is still stored there, alive.
    const stale = await readEntry(b.deps.cacheRedis, listKey(u.id), firstPageField());
    assert.ok(stale, 'the page cached before the outage is still in Redis');
    assert.equal((stale.value as { body: string }).body, cached.text);
    assert.equal(await epochOf(b.deps.cacheRedis), epochBefore);

    await restoreRedis(a);
    const seen = await untilHit(a, u, (page, status) =>
      assert.equal(page.data[0]?.id, two.id, `a ${status} after reconnecting served the page from before the write`),
    );
    ctx.diagnostic(`X-Cache after reconnecting: ${JSON.stringify(tally(seen))}`);
    assert.ok((await epochOf(b.deps.cacheRedis)) > epochBefore, 'the cache epoch was incremented');
    // The rebuilt entry is stamped with the new epoch; the old one is dead everywhere.
    const fresh = await getList(b, u);
    assert.deepEqual(
      (fresh.body as PageJson).data.map((x) => x.content),
      ['two', 'one'],
    );
  });

  it('when Redis is lost, then log-in, sign-up and token use all keep working (the credential cache falls back to PostgreSQL)', async () => {
    const u = await tokenUser(a, 'outage-auth');
    await a.http().get('/api/me').set('Authorization', u.auth).expect(200);
    await dropRedis(a);
    await a.http().get('/api/me').set('Authorization', u.auth).expect(200);
    const login = await a.http().post('/api/session').send({ email: u.email, password: u.password });
    assert.equal(login.status, 201, login.text);
    const signUp = await a
      .http()
      .post('/api/users')
      .send({ email: uniqueEmail('outage'), password: u.password });
    assert.equal(signUp.status, 201, signUp.text);
    await a.http().get('/api/session').set('Cookie', sessionCookie(login.headers['set-cookie'])).expect(200);
  });
});
