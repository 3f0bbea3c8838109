import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import { Cache, type Cached } from '../../app/cache';
import type { Pool } from '../../app/db';
import { tokenUser, type TestApp } from '../helpers/app';
import {
  countQueries,
  deferred,
  EPOCH_KEY,
  firstPageField,
  getList,
  hashKey,
  isListQuery,
  listKey,
  readEntry,
  startCachingApp,
  valueField,
  xCache,
} from '../helpers/caching';
import { createTodo, seedTodos, type PageJson } from '../helpers/todos';

const OPTIONS = { softTtlMs: 30_000, hardTtlMs: 60_000, jitter: 0.1 };

/** What a get answered, without the stamp it carries. */
async function seen<T>(got: Promise<Cached<T>>) {
  const { value, status } = await got;
  return { value, status };
}

describe('app cache: a rebuild that read before a write is not stored after it', () => {
  let t: TestApp;
  let cache: Cache;
  let restore: Array<() => void> = [];
  before(async () => {
    t = await startCachingApp();
    cache = new Cache(t.deps.cacheBreaker, { ...OPTIONS, signingKey: t.deps.config.cache.signingKey });
  });
  afterEach(() => {
    for (const r of restore.reverse()) r();
    restore = [];
  });
  after(() => t.close());

  /** A get whose load has read the "database" and then waits until released. */
  function blockedGet(ns: string, value: string) {
    const loading = deferred();
    const release = deferred();
    const result = cache.get(ns, 'page', async () => {
      loading.resolve();
      await release.promise;
      return value;
    });
    return { loading: loading.promise, release: () => release.resolve(), result };
  }

  it('when nothing changes during a rebuild, then its value is stored and the next get is a HIT (the control case)', async () => {
    const ns = `test-race:${randomUUID()}`;
    const get = blockedGet(ns, 'v1');
    await get.loading;
    get.release();
    assert.deepEqual(await seen(get.result), { value: 'v1', status: 'MISS' });
    assert.deepEqual(await seen(cache.get(ns, 'page', () => Promise.resolve('v2'))), { value: 'v1', status: 'HIT' });
  });

  it("when the namespace is invalidated while a rebuild is loading, then the rebuild's value is refused and the next get is a MISS with the new value", async () => {
    const ns = `test-race:${randomUUID()}`;
    const get = blockedGet(ns, 'old');
    await get.loading;
    await cache.invalidate(ns);
    get.release();
    assert.deepEqual(
      await seen(get.result),
      { value: 'old', status: 'MISS' },
      'the request that began before the write answers what it read',
    );
    assert.equal(await readEntry(t.deps.cacheRedis, hashKey(ns), valueField('page')), undefined, 'nothing was stored');

    assert.deepEqual(await seen(cache.get(ns, 'page', () => Promise.resolve('new'))), { value: 'new', status: 'MISS' });
    assert.deepEqual(await seen(cache.get(ns, 'page', () => Promise.resolve('newer'))), { value: 'new', status: 'HIT' });
  });

  it("when the cache epoch moves while a rebuild is loading, then the rebuild's value is refused too", async () => {
    const ns = `test-race:${randomUUID()}`;
    const get = blockedGet(ns, 'before the outage');
    await get.loading;
    await t.deps.cacheRedis.incr(EPOCH_KEY);
    get.release();
    assert.equal((await seen(get.result)).status, 'MISS');
    assert.equal(await readEntry(t.deps.cacheRedis, hashKey(ns), valueField('page')), undefined, 'nothing was stored');
    assert.deepEqual(await seen(cache.get(ns, 'page', () => Promise.resolve('after'))), { value: 'after', status: 'MISS' });
    assert.deepEqual(await seen(cache.get(ns, 'page', () => Promise.resolve('later'))), { value: 'after', status: 'HIT' });
  });

  it('when a todo is created while GET /api/todos is rebuilding from rows read before it, then the next GET is a MISS that shows the new todo', async () => {
    const u = await tokenUser(t, 'race');
    await seedTodos(t, u.id, 3);
    // Hold the first list query after PostgreSQL has answered it.
    const listRead = deferred();
    const release = deferred();
    const original = t.deps.db.query.bind(t.deps.db) as (...a: unknown[]) => Promise<unknown>;
    let held = false;
    const holding = async function (...args: unknown[]) {
      const result = await original(...args);
      if (!held && typeof args[0] === 'string' && isListQuery(args[0]) && (args[1] as unknown[])[0] === u.id) {
        held = true;
        listRead.resolve();
        await release.promise;
      }
      return result;
    };
    t.deps.db.query = holding as typeof t.deps.db.query;
    restore.push(() => {
      t.deps.db.query = original as Pool['query'];
    });

    const slowRead = getList(t, u);
    await listRead.promise;
    const created = await createTodo(t, u, 'written during the rebuild');
    release.resolve();
    const old = (await slowRead).body as PageJson;
    assert.ok(!old.data.some((x) => x.id === created.id), 'the slow read began before the write');

    const stored = await readEntry(t.deps.cacheRedis, listKey(u.id), firstPageField());
    assert.equal(stored, undefined, 'the page read before the write was not stored');
    const counter = countQueries(t.deps.db, isListQuery);
    restore.push(counter.restore);
    const next = await getList(t, u);
    assert.equal(xCache(next), 'MISS', 'the stale rebuild was refused, so this is rebuilt');
    assert.equal(counter.count(), 1);
    assert.equal((next.body as PageJson).data[0]?.id, created.id);
    const again = await getList(t, u);
    assert.equal(xCache(again), 'HIT');
    assert.equal(again.text, next.text);
  });

  it('when the stamps a value was read under are current, then isCurrent says so; after an invalidation or an epoch move it does not', async () => {
    const ns = `test-race:${randomUUID()}`;
    const { stamp } = await cache.get(ns, 'page', () => Promise.resolve('v'));
    assert.ok(stamp);
    assert.equal(await cache.isCurrent([stamp]), true);
    await cache.invalidate(ns);
    assert.equal(await cache.isCurrent([stamp]), false);
    const { stamp: fresh } = await cache.get(ns, 'page', () => Promise.resolve('w'));
    assert.ok(fresh);
    assert.equal(await cache.isCurrent([fresh]), true);
    await t.deps.cacheRedis.incr(EPOCH_KEY);
    assert.equal(await cache.isCurrent([fresh]), false);
  });
});
