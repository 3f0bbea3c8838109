import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { exportSlotsKey, SLOT_TTL_MS } from '../../app/todos/export-slots';
import { tokenUser, type TestApp } from '../helpers/app';
import { dropRedis, settleRedis, startCachingApp } from '../helpers/caching';
import { openStream, removeUsers, seedMany, untilNoExportBackends, type OpenStream } from '../helpers/export';
import { sleep } from '../helpers/todos';

// Large enough that an export a test holds open is still running.
const ROWS = 60_000;
const PADDING = 300;

describe('todos: at most two exports per user at once', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    // Two instances stand for two workers sharing Redis.
    [a, b] = await Promise.all([startCachingApp(), startCachingApp()]);
  });
  afterEach(() => settleRedis(a));
  const seededIds: string[] = [];
  // Their hundreds of thousands of rows go at the end, not to shift later tests' plans.
  const seeded = <U extends { id: string }>(u: U): U => {
    seededIds.push(u.id);
    return u;
  };
  after(async () => {
    await removeUsers(a.deps.db, seededIds);
    await Promise.all([a.close(), b.close()]);
  });

  const open = (t: TestApp, auth: string) => openStream(`${t.url}/api/todos/export`, { authorization: auth });

  function assertTooMany(s: OpenStream): void {
    assert.equal(s.status, 429, s.first);
    assert.equal(s.headers['content-type'], 'application/problem+json; charset=utf-8');
    assert.equal(s.headers['retry-after'], '5');
    const body = JSON.parse(s.first) as Record<string, unknown>;
    assert.equal(body.type, '/problems/too-many-exports');
    assert.equal(body.status, 429);
    assert.equal(body.retryable, true);
    assert.match(String(body.detail), /At most 2 exports/);
  }

  it('when a user runs two exports on two instances, then a third on either is 429 with Retry-After; others are not held back; a finished one frees its slot', async () => {
    const u = await tokenUser(a, 'limit');
    const other = await tokenUser(a, 'other');
    await seedMany(a.deps.db, seeded(u).id, ROWS, PADDING);
    const first = await open(a, u.auth);
    const second = await open(b, u.auth);
    assert.deepEqual([first.status, second.status], [200, 200]);
    assertTooMany(await open(a, u.auth));
    assertTooMany(await open(b, u.auth));
    // Many at once, more than the instance's own export places (5 of a pool
    // of 10), all waiting for Redis together (writes paused 300 ms): each is
    // the user's 429, none counts against the instance (it was 503s).
    const pauser = new Redis(process.env.REDIS_URL!);
    await pauser.call('CLIENT', 'PAUSE', '300', 'WRITE');
    const crowd = await Promise.all(Array.from({ length: 8 }, () => open(a, u.auth)));
    await pauser.quit();
    for (const s of crowd) assertTooMany(s);
    assert.equal(await a.deps.redis.zcard(exportSlotsKey(u.id)), 2);
    const ttl = await a.deps.redis.pttl(exportSlotsKey(u.id));
    assert.ok(ttl > 0 && ttl <= SLOT_TTL_MS, `the slots lapse by themselves (PTTL ${ttl})`);

    const free = await open(b, other.auth);
    assert.equal(free.status, 200, "another user's export is not held back");
    await free.rest();

    await first.rest();
    const third = await open(b, u.auth);
    assert.equal(third.status, 200, 'a finished export gave its slot back');
    second.hangUp();
    third.hangUp();
    await untilNoExportBackends(a.deps.db, 1_000);
    assert.equal(await a.deps.redis.zcard(exportSlotsKey(u.id)), 0, 'hung-up exports gave their slots back');
  });

  it('when a worker runs exports on half its pool, then one more (of anyone) is a 503 with Retry-After while other requests are still served', async () => {
    // Two connections: one for exports, one for everything else.
    const small = await startCachingApp({ PG_POOL_MAX: '2' });
    try {
      const [u, v] = await Promise.all([tokenUser(small, 'busy-a'), tokenUser(small, 'busy-b')]);
      await seedMany(small.deps.db, seeded(u).id, ROWS, PADDING);
      const held = await open(small, u.auth);
      assert.equal(held.status, 200);
      const busy = await open(small, v.auth);
      assert.equal(busy.status, 503, busy.first);
      assert.equal(busy.headers['retry-after'], '5');
      const body = JSON.parse(busy.first) as Record<string, unknown>;
      assert.equal(body.type, '/problems/exports-busy');
      assert.equal(body.retryable, true);
      await small.http().get('/api/todos').set('Authorization', v.auth).expect(200);
      held.hangUp();
      await untilNoExportBackends(small.deps.db, 1_000);
      const next = await open(small, v.auth);
      assert.equal(next.status, 200);
      await next.rest();
    } finally {
      await small.close();
    }
  });

  it('when a worker died holding slots, then they lapse at their expiry and exports work again', async () => {
    const u = await tokenUser(a, 'lapse');
    // Scored by Redis's clock, as the app scores them.
    const [seconds, micros] = await a.deps.redis.time();
    const lapses = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + 300;
    await a.deps.redis.zadd(exportSlotsKey(u.id), lapses, 'dead-1', lapses, 'dead-2');
    assertTooMany(await open(a, u.auth));
    await sleep(400);
    const after = await open(a, u.auth);
    assert.equal(after.status, 200);
    await after.rest();
  });

  it('when Redis is away, then each instance counts its own exports: two run, a third there is 429, and a hung-up one frees its place', async () => {
    const u = await tokenUser(a, 'no-redis');
    await seedMany(a.deps.db, seeded(u).id, ROWS, PADDING);
    await dropRedis(a);
    const held = [await open(a, u.auth), await open(a, u.auth)];
    assert.deepEqual(
      held.map((s) => s.status),
      [200, 200],
    );
    assertTooMany(await open(a, u.auth));
    held[0]!.hangUp();
    await sleep(100);
    const next = await open(a, u.auth);
    assert.equal(next.status, 200, 'the hung-up export gave its place back');
    for (const s of [held[1]!, next]) s.hangUp();
    await untilNoExportBackends(a.deps.db, 1_000);
  });
});
