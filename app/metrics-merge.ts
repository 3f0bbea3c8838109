import type { Router } from 'express';
import { Router as createRouter } from 'express';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, type Registry } from 'prom-client';
import type { Logger } from './log';
import type { Metrics } from './metrics';
import type { Redis } from './redis';

// PM2 workers are not Node cluster workers of *our* primary, so prom-client's
// cluster aggregation cannot reach them. Each process instead publishes its
// metrics to Redis every few seconds; /metrics merges all live snapshots.
//
// A sum across processes goes backwards when one restarts, and a per-process
// gauge (heap, pool) summed means nothing: every series carries a `worker`
// label (PM2 app name and id, which a reload keeps), so the merge keeps them
// apart and a restart resets only its own series. Numbers that belong to the
// whole cluster (how many report, queue depths, the data folder) carry none.
export const SNAPSHOT_KEY_PREFIX = 'metrics:worker:';
const PUBLISH_EVERY_MS = 5_000;
const SNAPSHOT_TTL_S = 15;
const CLUSTER_WIDE = new Set(['metrics_workers_reporting', 'jobs_queue_jobs', 'data_folder_bytes']);
// Gauges named like counters (promtool rejects them); the per-type series
// without the suffix carry the same numbers.
const DROPPED = new Set(['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']);

type Snapshot = MetricObjectWithValues<MetricValue<string>>[];

/** This process's name in the `worker` label: the PM2 app and its id, else the pid. */
export const workerName = (env = process.env) => (env.pm_id !== undefined ? `${env.name ?? 'app'}-${env.pm_id}` : `pid-${process.pid}`);

/** The registry's metrics, each series labelled with this process (see above). */
export async function labelledSnapshot(registry: Registry, worker = workerName()): Promise<Snapshot> {
  const metrics = (await registry.getMetricsAsJSON()) as Snapshot;
  return metrics
    .filter((m) => !DROPPED.has(m.name))
    .map((m) =>
      CLUSTER_WIDE.has(m.name)
        ? m
        : // Series are distinct per worker, so any aggregator but 'omit' keeps them as they are.
          { ...m, aggregator: 'sum', values: m.values.map((v) => ({ ...v, labels: { ...v.labels, worker } })) },
    );
}

const startTime = (s: Snapshot) => s.find((m) => m.name === 'process_start_time_seconds')?.values[0]?.value ?? 0;
const workerOf = (s: Snapshot) => {
  const worker = s.find((m) => m.name === 'process_start_time_seconds')?.values[0]?.labels.worker;
  return worker === undefined ? undefined : String(worker);
};

/**
 * One snapshot per worker: a process that died leaves its last snapshot for
 * a few seconds, and the one PM2 started in its place has the same name;
 * the one that started last is kept.
 */
export function newestPerWorker(snapshots: Snapshot[]): Snapshot[] {
  const byWorker = new Map<string, Snapshot>();
  const unnamed: Snapshot[] = [];
  for (const s of snapshots) {
    const worker = workerOf(s);
    if (worker === undefined) unnamed.push(s);
    else if (startTime(s) >= startTime(byWorker.get(worker) ?? [])) byWorker.set(worker, s);
  }
  return [...byWorker.values(), ...unnamed];
}

/** Starts publishing this process's snapshot; returns the stop function. */
export function startPublishing(metrics: Metrics, redis: Redis, log: Logger): () => void {
  const key = `${SNAPSHOT_KEY_PREFIX}${process.pid}`;
  const publish = async () => {
    const snapshot = JSON.stringify(await labelledSnapshot(metrics.registry));
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
}

/** Every live process's snapshot: this one's fresh, the others' from Redis. */
export async function allSnapshots(metrics: Metrics, redis: Redis): Promise<Snapshot[]> {
  const own = await labelledSnapshot(metrics.registry);
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
  return newestPerWorker([own, ...others]);
}

export function metricsRouter(metrics: Metrics, redis: Redis): Router {
  const router = createRouter();
  router.get('/metrics', async (_req, res) => {
    const merged = AggregatorRegistry.aggregate(await allSnapshots(metrics, redis));
    res
      .set('Cache-Control', 'no-store')
      .type(merged.contentType)
      .send(await merged.metrics());
  });
  return router;
}
