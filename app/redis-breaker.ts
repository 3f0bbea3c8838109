import type { Logger } from './log';
import type { Metrics } from './metrics';
import type { Redis } from './redis';

const COOLDOWN_MS = 1_000;

/**
 * Stops calling Redis for a second after it fails, so a Redis outage costs
 * one failed call per second instead of a timeout on every request. While
 * open, callers take their fallback at once (PostgreSQL, or allowing the
 * request through the rate limiter).
 *
 * A cache write that could not be invalidated while Redis was away leaves a
 * stale entry behind; before the breaker closes again it bumps the cache
 * epoch (see cache.ts), which retires every entry made before the outage.
 */
export class RedisBreaker {
  private openUntil = 0;
  // Counts invalidations that did not reach Redis; the epoch must move past them.
  private missed = 0;
  private probe: NodeJS.Timeout | undefined;

  constructor(
    readonly redis: Redis,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    private readonly epochKey: string,
    /** Which Redis, in metrics: `durable` or `cache`. */
    private readonly name: string,
  ) {
    metrics.probes.breakers.set(name, () => this.isOpen);
  }

  get isOpen(): boolean {
    return this.openUntil > 0;
  }

  /** Runs op against Redis, or returns undefined at once when Redis is known to be away. */
  async run<T>(reason: string, op: (redis: Redis) => Promise<T>): Promise<T | undefined> {
    if (this.isOpen) {
      if (Date.now() < this.openUntil || !(await this.tryClose())) {
        this.metrics.redisFallbacks.inc({ reason });
        return undefined;
      }
    }
    try {
      return await op(this.redis);
    } catch (err) {
      this.open(err);
      this.metrics.redisErrors.inc({ redis: this.name });
      this.metrics.redisFallbacks.inc({ reason });
      return undefined;
    }
  }

  /** An invalidation that did not reach Redis: the epoch must move before the cache is trusted again. */
  noteMissedInvalidation(): void {
    this.missed += 1;
  }

  private open(err: unknown): void {
    if (!this.isOpen) this.log.warn({ err: (err as Error).message }, 'redis unavailable: serving without it');
    this.openUntil = Date.now() + COOLDOWN_MS;
    // Probe on a timer too, so the epoch moves soon after Redis returns even
    // if this worker gets no traffic.
    this.probe ??= setInterval(() => void this.tryClose(), COOLDOWN_MS);
    this.probe.unref();
  }

  private async tryClose(): Promise<boolean> {
    if (!this.isOpen || Date.now() < this.openUntil) return !this.isOpen;
    this.openUntil = Date.now() + COOLDOWN_MS; // one probe at a time
    const missed = this.missed;
    try {
      if (missed > 0) await this.redis.incr(this.epochKey);
      else await this.redis.ping();
    } catch {
      return false;
    }
    // One missed while the probe was under way needs another move.
    if (this.missed !== missed) return false;
    this.missed = 0;
    this.openUntil = 0;
    clearInterval(this.probe);
    this.probe = undefined;
    this.log.info('redis available again: cache and shared limits resume');
    return true;
  }

  stop(): void {
    clearInterval(this.probe);
  }
}
