import type { RequestHandler, Response, Router } from 'express';
import { Router as createRouter } from 'express';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from './log';
import type { Redis } from './redis';

// PM2 workers are not Node cluster workers of *our* primary, so prom-client's
// cluster aggregation cannot reach them. Each worker instead publishes its
// metrics to Redis every few seconds; /metrics merges all live snapshots.
export const SNAPSHOT_KEY_PREFIX = 'metrics:worker:';
const PUBLISH_EVERY_MS = 5_000;
const SNAPSHOT_TTL_S = 15;

type Snapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

export type Metrics = {
  registry: Registry;
  requestDuration: Histogram<'method' | 'route' | 'status'>;
  redisFallbacks: Counter<'reason'>;
  todoExports: Counter<'format' | 'outcome'>;
  /** Starts publishing this worker's snapshot; returns the stop function. */
  startPublishing(redis: Redis, log: Logger): () => void;
};

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response, by route',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const redisFallbacks = new Counter({
    name: 'redis_fallbacks_total',
    help: 'Operations that went on without Redis because it was unavailable',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const todoExports = new Counter({
    name: 'todo_exports_total',
    help: 'Exports of a whole list, by format and how they ended (done, aborted by the client, failed, refused)',
    labelNames: ['format', 'outcome'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'metrics_workers_reporting',
    help: 'Worker processes whose metrics are in this scrape',
    registers: [registry],
    aggregator: 'sum',
    collect() {
      this.set(1);
    },
  });

  const startPublishing = (redis: Redis, log: Logger) => {
    const key = `${SNAPSHOT_KEY_PREFIX}${process.pid}`;
    const publish = async () => {
      const snapshot = JSON.stringify(await registry.getMetricsAsJSON());
      await redis.set(key, snapshot, 'EX', SNAPSHOT_TTL_S);
    };
    const timer = setInterval(() => {
      publish().catch((err: unknown) => log.debug({ err }, 'could not publish metrics'));
    }, PUBLISH_EVERY_MS);
    timer.unref();
    publish().catch(() => undefined);
    return () => {
      clearInterval(timer);
      redis.del(key).catch(() => undefined);
    };
  };

  return { registry, requestDuration, redisFallbacks, todoExports, startPublishing };
}

/**
 * A response that lasts as long as its client keeps reading (an export)
 * says nothing about latency and would swamp the histogram's top bucket:
 * such a route calls this and counts itself.
 */
export const leaveUntimed = (res: Response) => {
  res.locals.untimed = true;
};

/** Times every request under its route pattern (not its URL, to bound label values). */
export function timeRequests(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.requestDuration.startTimer();
    res.once('finish', () => {
      if (res.locals.untimed === true) return;
      const path = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof path === 'string' ? `${req.baseUrl}${path}` : 'unmatched';
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}

export function metricsRouter(metrics: Metrics, redis: Redis): Router {
  const router = createRouter();
  router.get('/metrics', async (_req, res) => {
    const own = await metrics.registry.getMetricsAsJSON();
    const others: Snapshot[] = [];
    try {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${SNAPSHOT_KEY_PREFIX}*`, 'COUNT', 100);
        cursor = next;
        keys.push(...batch.filter((k) => k !== `${SNAPSHOT_KEY_PREFIX}${process.pid}`));
      } while (cursor !== '0');
      const snapshots = keys.length ? await redis.mget(keys) : [];
      for (const s of snapshots) if (s) others.push(JSON.parse(s) as Snapshot);
    } catch {
      // Without Redis this scrape shows this worker alone; the gauge says so.
    }
    const merged = AggregatorRegistry.aggregate([own, ...others]);
    res
      .set('Cache-Control', 'no-store')
      .type(merged.contentType)
      .send(await merged.metrics());
  });
  return router;
}
