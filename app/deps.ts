import { Cache, EPOCH_KEY } from './cache';
import type { Config } from './config';
import { createPool, instrumentPool, type Pool } from './db';
import { Edge } from './edge';
import { createPurge } from './edge-purge';
import { watchReadiness } from './health';
import { JobsClient } from './queues';
import { createLogger, type Logger } from './log';
import { createMetrics, preBound, watchDataFolder, type Metrics } from './metrics';
import { createRedis, type Redis } from './redis';
import { RedisBreaker } from './redis-breaker';

/** Everything a request handler may touch, built once at start-up and passed down. */
export type Deps = {
  config: Config;
  log: Logger;
  db: Pool;
  /** The Redis that never evicts: rate limits, nginx's copy lists, metrics snapshots. */
  redis: Redis;
  /** The app cache's Redis, which evicts under memory pressure (see config). */
  cacheRedis: Redis;
  metrics: Metrics;
  /** Every use of `redis` that has a fallback goes through this breaker… */
  breaker: RedisBreaker;
  /** …and every use of `cacheRedis` through this one (inside `cache`). */
  cacheBreaker: RedisBreaker;
  cache: Cache;
  /** nginx's caches in front of the app: admission and purges. */
  edge: Edge;
  /** Adds jobs to the queue and hears them move (the job worker runs them). */
  jobs: JobsClient;
  lifecycle: {
    /** Flipped by the shutdown sequence so readiness fails before the server stops accepting. */
    shuttingDown: boolean;
    /** Ends of open long responses (events streams), called when the process drains. */
    longResponses: Set<() => void>;
  };
};

/** Connects to PostgreSQL and both Redis servers; resolves only when all answer. */
export async function openDeps(config: Config, log = createLogger(config.logLevel)): Promise<Deps> {
  const db = createPool(config);
  const metrics = createMetrics();
  instrumentPool(db, metrics);
  const redis = createRedis(config.redisUrl, log);
  const cacheRedis = createRedis(config.cacheRedisUrl, log);
  try {
    await Promise.all([db.query('SELECT 1'), redis.connect(), cacheRedis.connect()]);
  } catch (err) {
    await closeDeps({ db, redis, cacheRedis });
    throw err;
  }
  if (config.dataDir) watchDataFolder(metrics.registry, config.dataDir);
  const breaker = new RedisBreaker(redis, log, metrics, EPOCH_KEY, 'durable');
  const cacheBreaker = new RedisBreaker(cacheRedis, log, metrics, EPOCH_KEY, 'cache');
  const countCache = preBound(metrics.cacheResults);
  const cache = new Cache(cacheBreaker, config.cache, (kind, result) => countCache(kind + result, { cache: kind, result }));
  const countPurge = preBound(metrics.edgePurges);
  const purge = config.edgePurgeUrl ? createPurge(config.edgePurgeUrl, log, (outcome) => countPurge(outcome, { outcome })) : undefined;
  const countAdmission = preBound(metrics.edgeAdmissions);
  const edge = new Edge({ config, log, cache, breaker, countAdmission: (outcome) => countAdmission(outcome, { outcome }) }, purge);
  const jobs = new JobsClient(config.redisUrl, log);
  const lifecycle = { shuttingDown: false, longResponses: new Set<() => void>() };
  watchReadiness({ db, redis, cacheRedis, lifecycle, metrics });
  return { config, log, db, redis, cacheRedis, metrics, breaker, cacheBreaker, cache, edge, jobs, lifecycle };
}

export async function closeDeps(
  deps: Pick<Deps, 'db' | 'redis' | 'cacheRedis'> & Partial<Pick<Deps, 'breaker' | 'cacheBreaker' | 'jobs'>>,
): Promise<void> {
  await deps.jobs?.close();
  deps.breaker?.stop();
  deps.cacheBreaker?.stop();
  deps.redis.disconnect();
  deps.cacheRedis.disconnect();
  await deps.db.end();
}
