import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it, type TestContext } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type request from 'supertest';
import { tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import {
  countQueries,
  firstPageField,
  getList,
  isListQuery,
  listKey,
  readEntry,
  startCachingApp,
  tally,
  writeFirstPageEntry,
  xCache,
} from '../helpers/caching';
import { seedTodos } from '../helpers/todos';

const PER_INSTANCE = 100;

const breakerOpened = (lagMs: number) =>
  `no request may skip the cache: a BYPASS means a Redis command outlived ioredis's 250 ms commandTimeout and the breaker opened (worst event-loop stall ${lagMs} ms)`;

describe('app cache: one rebuild under a stampede (two instances, 200 concurrent requests)', () => {
  let a: TestApp;
  let b: TestApp;
  let counters: Array<ReturnType<typeof countQueries>> = [];
  before(async () => {
    [a, b] = await Promise.all([startCachingApp(), startCachingApp()]);
  });
  afterEach(() => {
    for (const c of counters) c.restore();
    counters = [];
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  /** A user with todos whose credential is already cached on both instances. */
  async function readyUser(tag: string): Promise<TokenUser> {
    const u = await tokenUser(a, tag);
    await seedTodos(a, u.id, 15);
    for (const t of [a, b]) await t.http().get('/api/me').set('Authorization', u.auth).expect(200);
    return u;
  }

  function countListQueries(): () => number {
    counters = [a, b].map((t) => countQueries(t.deps.db, isListQuery));
    return () => counters.reduce((sum, c) => sum + c.count(), 0);
  }

  /** 200 requests at once; reports the worst event-loop stall (ioredis times a command out at 250 ms). */
  async function stampede(u: TokenUser): Promise<{ responses: request.Response[]; maxLagMs: number }> {
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const responses = await Promise.all(
      [a, b].flatMap((t) => Array.from({ length: PER_INSTANCE }, () => t.http().get('/api/todos').set('Authorization', u.auth))),
    );
    lag.disable();
    return { responses, maxLagMs: Math.round(lag.max / 1e6) };
  }

  /**
   * What every stampede must show: all 200 answered, none past the cache, one
   * list query in all. Returns the X-Cache tally.
   */
  function assertOneRebuild(ctx: TestContext, responses: request.Response[], maxLagMs: number, listQueries: () => number) {
    const statuses = tally(responses.map((r) => String(r.status)));
    assert.deepEqual(statuses, { 200: 2 * PER_INSTANCE }, JSON.stringify(statuses));
    const cache = tally(responses.map(xCache));
    ctx.diagnostic(`X-Cache: ${JSON.stringify(cache)}; list queries: ${listQueries()}; worst event-loop stall: ${maxLagMs} ms`);
    assert.equal(cache.BYPASS, undefined, breakerOpened(maxLagMs));
    assert.equal(listQueries(), 1, 'one rebuild across both instances');
    return cache;
  }

  it('when the entry is missing, then PostgreSQL sees exactly one list query, all 200 get the same body, one MISS and the rest HIT', async (ctx) => {
    const u = await readyUser('stampede');
    await a.deps.cacheRedis.del(listKey(u.id));
    const listQueries = countListQueries();

    const { responses, maxLagMs } = await stampede(u);

    const cache = assertOneRebuild(ctx, responses, maxLagMs, listQueries);
    assert.deepEqual(cache, { MISS: 1, HIT: 2 * PER_INSTANCE - 1 });
    assert.equal(new Set(responses.map((r) => r.text)).size, 1, 'every response has the same body');
    assert.equal(responses[0]!.body.data.length, 10);
  });

  it('when the entry is stale, then exactly one list query rebuilds it while the others get the old copy (STALE) or the new one (HIT)', async (ctx) => {
    const u = await readyUser('stale');
    const old = await getList(a, u);
    assert.equal(xCache(await getList(b, u)), 'HIT');
    // Another worker's view of the data moves on without an invalidation, so
    // the old copy and the rebuilt one can be told apart.
    await a.deps.db.query(`UPDATE todos SET content = 'changed ' || content WHERE user_id = $1`, [u.id]);
    const entry = await readEntry(a.deps.cacheRedis, listKey(u.id), firstPageField());
    assert.ok(entry);
    await writeFirstPageEntry(a, u.id, { ...entry, freshUntil: Date.now() - 1_000 });
    const listQueries = countListQueries();

    const { responses, maxLagMs } = await stampede(u);

    const cache = assertOneRebuild(ctx, responses, maxLagMs, listQueries);
    assert.equal(cache.MISS, 1, JSON.stringify(cache));
    assert.ok((cache.STALE ?? 0) >= 1, `some requests were served the previous copy: ${JSON.stringify(cache)}`);
    assert.equal((cache.STALE ?? 0) + (cache.HIT ?? 0), 2 * PER_INSTANCE - 1, JSON.stringify(cache));
    const fresh = responses.find((r) => xCache(r) === 'MISS')!.text;
    assert.notEqual(fresh, old.text);
    assert.match(fresh, /"changed seeded /);
    for (const r of responses) {
      assert.equal(
        r.text,
        xCache(r) === 'STALE' ? old.text : fresh,
        `a ${xCache(r)} has the ${xCache(r) === 'STALE' ? 'old' : 'rebuilt'} body`,
      );
    }
    const rebuilt = await readEntry(a.deps.cacheRedis, listKey(u.id), firstPageField());
    assert.ok(rebuilt && rebuilt.freshUntil > Date.now(), 'the entry is fresh again');
    assert.equal((rebuilt.value as { body: string }).body, fresh);
  });
});
