import { Cache, EPOCH_KEY } from './cache';
import type { Config } from './config';
import { createPool, type Pool } from './db';
import { Edge } from './edge';
import { createPurge } from './edge-purge';
import { createLogger, type Logger } from './log';
import { createMetrics, type Metrics } from './metrics';
import { createRedis, type Redis } from './redis';
import { RedisBreaker } from './redis-breaker';

/** Everything a request handler may touch, built once at start-up and passed down. */
export type Deps = {
  config: Config;
  log: Logger;
  db: Pool;
  redis: Redis;
  metrics: Metrics;
  /** Every use of Redis that has a fallback goes through the breaker. */
  breaker: RedisBreaker;
  cache: Cache;
  /** nginx's caches in front of the app: admission and purges. */
  edge: Edge;
  /** Flipped by the shutdown sequence so readiness fails before the server stops accepting. */
  lifecycle: { shuttingDown: boolean };
};

/** Connects to PostgreSQL and Redis; resolves only when both answer. */
export async function openDeps(config: Config, log = createLogger(config.logLevel)): Promise<Deps> {
  const db = createPool(config);
  const redis = createRedis(config.redisUrl, log);
  try {
    await Promise.all([db.query('SELECT 1'), redis.connect()]);
  } catch (err) {
    await closeDeps({ db, redis });
    throw err;
  }
  const metrics = createMetrics();
  const breaker = new RedisBreaker(redis, log, metrics, EPOCH_KEY);
  const cache = new Cache(breaker, config.cache);
  const purge = config.edgePurgeUrl ? createPurge(config.edgePurgeUrl, log) : undefined;
  const edge = new Edge({ config, log, cache, breaker }, purge);
  return { config, log, db, redis, metrics, breaker, cache, edge, lifecycle: { shuttingDown: false } };
}

export async function closeDeps(deps: Pick<Deps, 'db' | 'redis'> & Partial<Pick<Deps, 'breaker'>>): Promise<void> {
  deps.breaker?.stop();
  deps.redis.disconnect();
  await deps.db.end();
}
