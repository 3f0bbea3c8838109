import { Redis } from 'ioredis';
import type { Logger } from './log';

export type { Redis };

/**
 * One client per process. Commands fail fast while Redis is away instead of
 * queueing, so callers can fall back to PostgreSQL.
 */
export function createRedis(url: string, log: Logger): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    // Redis answers in well under a millisecond here; a command this slow
    // means trouble, and the breaker takes over. Not lower: a busy event loop
    // alone can delay a reply by a few hundred milliseconds.
    commandTimeout: 1_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let down = false;
  redis.on('error', (err) => {
    if (!down) log.warn({ err: err.message }, 'redis unavailable');
    down = true;
  });
  redis.on('ready', () => {
    if (down) log.info('redis available again');
    down = false;
  });
  return redis;
}
