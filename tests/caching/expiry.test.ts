import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tokenUser, type TestApp } from '../helpers/app';
import { firstPageField, getList, listKey, listLockKey, readEntry, startCachingApp, tally, xCache, type Entry } from '../helpers/caching';
import { seedTodos, sleep, type PageJson } from '../helpers/todos';

// CACHE_TTL_SECONDS=1: entries are fresh for 1 s ± 10 %.
const SOFT_MS = 1_000;
const JITTER = 0.1;

describe('app cache: soft TTL with jitter, expiry and rebuild', () => {
  let t: TestApp;
  before(async () => {
    t = await startCachingApp({ CACHE_TTL_SECONDS: '1' });
  });
  after(() => t.close());

  it('when many entries are stored, then their soft TTLs differ (jitter) and stay within ±10 %', async (ctx) => {
    // 30 entries, over two users: one user's lists hold at most
    // MAX_VALUES_PER_NAMESPACE shapes.
    const users = [await tokenUser(t, 'jitter'), await tokenUser(t, 'jitter')];
    for (const u of users) await seedTodos(t, u.id, 3);
    // Each entry's TTL is freshUntil minus the moment it was stored, which
    // lies between the request's start and its response.
    const bounds: Array<{ low: number; high: number }> = [];
    for (let limit = 1; limit <= 30; limit++) {
      const u = users[limit % 2]!;
      const start = Date.now();
      const res = await getList(t, u, { limit: String(limit) });
      const end = Date.now();
      assert.equal(xCache(res), 'MISS');
      const entry = await readEntry(t.deps.cacheRedis, listKey(u.id), firstPageField(limit));
      assert.ok(entry, `limit=${limit} is stored`);
      bounds.push({ low: entry.freshUntil - end, high: entry.freshUntil - start });
    }
    for (const { low, high } of bounds) {
      assert.ok(high >= SOFT_MS * (1 - JITTER) && low <= SOFT_MS * (1 + JITTER), `TTL between ${low} and ${high} ms is outside 1 s ± 10 %`);
    }
    // Without jitter every TTL would be exactly 1000 ms, and every interval
    // would contain 1000: no low bound could exceed another's high bound.
    const spread = Math.max(...bounds.map((b) => b.low)) - Math.min(...bounds.map((b) => b.high));
    ctx.diagnostic(`soft TTLs spread over at least ${spread} ms`);
    assert.ok(spread >= 50, `soft TTLs must differ: they spread over only ${spread} ms`);
    const freshUntils = new Set(bounds.map((b) => b.high));
    assert.ok(freshUntils.size > 1);
  });

  it('when an entry outlives its soft TTL while another worker rebuilds it, then the old copy is served as STALE; then it is rebuilt (MISS) and fresh (HIT)', async () => {
    const u = await tokenUser(t, 'expiry');
    await seedTodos(t, u.id, 3);
    const first = await getList(t, u);
    assert.equal(xCache(first), 'MISS');
    // A change the cache cannot know about (no invalidation), so the old and
    // the rebuilt copy can be told apart.
    await t.deps.db.query(`UPDATE todos SET content = 'renamed' WHERE user_id = $1`, [u.id]);
    const hit = await getList(t, u);
    assert.equal(xCache(hit), 'HIT');
    assert.equal(hit.text, first.text, 'still fresh: the cached copy is served');

    await sleep(SOFT_MS * (1 + JITTER) + 150);
    // Another worker holds the rebuild lock.
    await t.deps.cacheRedis.set(listLockKey(u.id), 'another worker', 'PX', 3_000);
    const stale = await getList(t, u);
    assert.equal(xCache(stale), 'STALE');
    assert.equal(stale.text, first.text, 'STALE serves the previous copy');
    await t.deps.cacheRedis.del(listLockKey(u.id));

    const rebuilt = await getList(t, u);
    assert.equal(xCache(rebuilt), 'MISS');
    assert.ok((rebuilt.body as PageJson).data.every((x) => x.content === 'renamed'));
    const entry = await readEntry(t.deps.cacheRedis, listKey(u.id), firstPageField());
    assert.ok(entry && entry.freshUntil > Date.now(), 'fresh again');
    const again = await getList(t, u);
    assert.equal(xCache(again), 'HIT');
    assert.equal(again.text, rebuilt.text);
  });

  it('when an entry has expired and 20 requests come at once, then one rebuilds it and the others are served at once', async (ctx) => {
    const u = await tokenUser(t, 'expiry-burst');
    await seedTodos(t, u.id, 3);
    await getList(t, u);
    const before = (await readEntry(t.deps.cacheRedis, listKey(u.id), firstPageField())) as Entry;
    await sleep(Math.max(0, before.freshUntil - Date.now()) + 50);
    const responses = await Promise.all(Array.from({ length: 20 }, () => getList(t, u)));
    const statuses = responses.map(xCache);
    ctx.diagnostic(`X-Cache: ${JSON.stringify(tally(statuses))}`);
    assert.equal(statuses.filter((s) => s === 'MISS').length, 1, JSON.stringify(statuses));
    assert.ok(
      statuses.every((s) => ['MISS', 'STALE', 'HIT'].includes(s)),
      JSON.stringify(statuses),
    );
    const entry = await readEntry(t.deps.cacheRedis, listKey(u.id), firstPageField());
    assert.ok(entry && entry.freshUntil > before.freshUntil, 'the entry was rebuilt with a later soft expiry');
  });
});
