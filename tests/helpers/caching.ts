import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type request from 'supertest';
import { EPOCH_KEY, hashKey, lockKey, signedValue, valueField } from '../../app/cache';
import type { Pool } from '../../app/db';
import type { Redis } from '../../app/redis';
import { listNamespace } from '../../app/todos/list-changed';
import { LIST_SQL_PREFIX } from '../../app/todos/queries';
import { firstPageField as pageField } from '../../app/todos/service';
import { startApp, type TestApp, type TokenUser } from './app';
import type { PageJson } from './todos';

/**
 * The app for cache tests: fixtures' passwords at scrypt's lowest cost, and
 * any overrides (TTLs, limits) on top.
 */
export const startCachingApp = (env: NodeJS.ProcessEnv = {}) => startApp({ PASSWORD_SCRYPT_LOG_N: '10', ...env });

/** The Redis hash holding one user's cached list pages (app/todos/list-changed.ts, app/cache.ts). */
export const listKey = (userId: string) => hashKey(listNamespace(userId));
/** The hash field of a first page. */
export const firstPageField = (limit = 10, isFinished?: boolean) => valueField(pageField(limit, isFinished));
export const listLockKey = (userId: string, limit = 10, isFinished?: boolean) =>
  lockKey(listNamespace(userId), pageField(limit, isFinished));
export { EPOCH_KEY, hashKey, valueField };

/** The text every list query of app/todos/queries.ts listTodos starts with. */
export const LIST_SQL = LIST_SQL_PREFIX;

export type Entry = { value: unknown; epoch: string; version: string; freshUntil: number };

/**
 * Counts the queries a pool runs whose SQL text satisfies `matches`, by
 * wrapping the pool's own query method (the query still runs).
 */
export function countQueries(db: Pool, matches: (sql: string) => boolean): { count: () => number; restore: () => void } {
  const original = db.query.bind(db) as (...a: unknown[]) => unknown;
  let n = 0;
  const counting = function (...args: unknown[]) {
    const first = args[0];
    const sql = typeof first === 'string' ? first : (first as { text?: unknown } | null)?.text;
    if (typeof sql === 'string' && matches(sql)) n += 1;
    return original(...args);
  };
  db.query = counting as Pool['query'];
  return {
    count: () => n,
    restore: () => {
      db.query = original as Pool['query'];
    },
  };
}

export const isListQuery = (sql: string) => sql.trimStart().startsWith(LIST_SQL);

export function xCache(res: request.Response): string {
  const value = res.headers['x-cache'];
  assert.equal(typeof value, 'string', `expected an X-Cache header, got ${res.status} ${JSON.stringify(res.headers)}`);
  return value as string;
}

/** GET /api/todos with the given query as the user; asserts 200 and returns the response. */
export async function getList(t: TestApp, u: TokenUser, query: Record<string, string> = {}): Promise<request.Response> {
  const res = await t.http().get('/api/todos').query(query).set('Authorization', u.auth);
  assert.equal(res.status, 200, res.text);
  return res;
}

/** What a page shows, for comparing with the database: id, content and state, in order. */
export const shown = (page: PageJson) => page.data.map((x) => ({ id: x.id, content: x.content, is_finished: x.is_finished }));

/** The first page of a shape straight from PostgreSQL, newest first. */
export async function dbFirstPage(t: TestApp, userId: string, limit: number, isFinished?: boolean) {
  const { rows } = await t.deps.db.query<{ id: string; content: string; is_finished: boolean }>(
    `SELECT id, content, is_finished FROM todos WHERE user_id = $1 AND ($2::boolean IS NULL OR is_finished = $2)
      ORDER BY created_at DESC, id DESC LIMIT $3`,
    [userId, isFinished ?? null, limit],
  );
  return rows;
}

/** The stored entry of one field (its signature set aside), or undefined. */
export async function readEntry(redis: Redis, key: string, field: string): Promise<Entry | undefined> {
  const raw = await redis.hget(key, field);
  return raw ? (JSON.parse(raw.slice(raw.indexOf('.') + 1)) as Entry) : undefined;
}

/** Stores an entry of a user's default first page as the app would, signed with the app's key. */
export async function writeFirstPageEntry(t: TestApp, userId: string, entry: Entry): Promise<void> {
  const json = signedValue(t.deps.config.cache.signingKey, listNamespace(userId), pageField(10), JSON.stringify(entry));
  await t.deps.cacheRedis.hset(listKey(userId), firstPageField(), json);
}

export async function epochOf(redis: Redis): Promise<number> {
  return Number((await redis.get(EPOCH_KEY)) ?? '0');
}

/** Every key matching a pattern (SCAN, never KEYS). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

export async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  const keys = await scanKeys(redis, pattern);
  if (keys.length) await redis.del(...keys);
}

/** A real loss of the instance's Redis connection; resolves once the client has closed. */
/** This instance loses both its Redis connections (the cache's and the durable one). */
export async function dropRedis(t: TestApp): Promise<void> {
  for (const redis of [t.deps.redis, t.deps.cacheRedis]) {
    if (redis.status === 'end') continue;
    const ended = once(redis, 'end');
    redis.disconnect();
    await ended;
  }
}

export async function restoreRedis(t: TestApp): Promise<void> {
  for (const redis of [t.deps.redis, t.deps.cacheRedis]) if (redis.status === 'end') await redis.connect();
}

/** Reconnects if needed and waits for the breaker (it probes once a second) to close, for the next test. */
export async function settleRedis(t: TestApp): Promise<void> {
  await restoreRedis(t);
  for (let i = 0; i < 50 && (t.deps.breaker.isOpen || t.deps.cacheBreaker.isOpen); i++) await sleep(100);
  assert.equal(t.deps.breaker.isOpen, false, 'the Redis breaker closes again');
  assert.equal(t.deps.cacheBreaker.isOpen, false, "the cache Redis's breaker closes again");
}

/** redis_fallbacks_total of one instance, summed over its reasons. */
export async function fallbacks(t: TestApp): Promise<number> {
  const metric = t.deps.metrics.registry.getSingleMetric('redis_fallbacks_total');
  assert.ok(metric, 'redis_fallbacks_total is registered');
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

export type Deferred<T> = { promise: Promise<T>; resolve: (value: T) => void };
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** How many times each value occurs. */
export function tally(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
