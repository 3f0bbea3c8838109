import { Router } from 'express';
import type { Deps } from './deps';
import { withTimeout } from './health';
import { buildInfo } from './metrics';
import { allSnapshots, workerName } from './metrics-merge';

// For operators, on the internal listener only (nginx/sites/internal.conf):
// what /health/ready decides from, with numbers. Load balancers keep asking
// /health/ready, whose answer this does not change.

type Check = { status: 'up' | 'down'; latency_ms: number; error?: string };

async function timed(work: () => Promise<unknown>): Promise<Check> {
  const started = performance.now();
  const latency = () => Math.round((performance.now() - started) * 100) / 100;
  try {
    await withTimeout(work());
    return { status: 'up', latency_ms: latency() };
  } catch (err) {
    return { status: 'down', latency_ms: latency(), error: (err as Error).message };
  }
}

type QueueCounts = Record<string, Record<string, number>>;

/** Queue depths as the job worker last published them (every few seconds), and who is reporting. */
async function fromSnapshots(deps: Deps): Promise<{ queues: QueueCounts | null; workers: string[] }> {
  const snapshots = await allSnapshots(deps.metrics, deps.redis);
  const workers = snapshots
    .map((s) => s.find((m) => m.name === 'process_start_time_seconds')?.values[0]?.labels.worker)
    .filter((w) => w !== undefined)
    .map(String)
    .sort();
  let queues: QueueCounts | null = null;
  for (const s of snapshots) {
    for (const v of s.find((m) => m.name === 'jobs_queue_jobs')?.values ?? []) {
      queues ??= {};
      (queues[String(v.labels.queue)] ??= {})[String(v.labels.state)] = v.value;
    }
  }
  return { queues, workers };
}

export function healthDetailsRouter(deps: Deps): Router {
  const router = Router();
  const { version, commit } = buildInfo();
  router.get('/health/details', async (_req, res) => {
    const [postgres, redis, cacheRedis, reported] = await Promise.all([
      timed(() => deps.db.query('SELECT /* health */ 1')),
      timed(() => deps.redis.ping()),
      timed(() => deps.cacheRedis.ping()),
      fromSnapshots(deps).catch(() => ({ queues: null, workers: [] })),
    ]);
    const ready = !deps.lifecycle.shuttingDown && postgres.status === 'up' && redis.status === 'up' && cacheRedis.status === 'up';
    res.set('Cache-Control', 'no-store').json({
      ready,
      version,
      commit,
      worker: workerName(),
      uptime_seconds: Math.round(process.uptime()),
      dependencies: { postgres, redis, cache_redis: cacheRedis },
      breakers: { redis: deps.breaker.isOpen ? 'open' : 'closed', cache_redis: deps.cacheBreaker.isOpen ? 'open' : 'closed' },
      pool: { total: deps.db.totalCount, idle: deps.db.idleCount, waiting: deps.db.waitingCount },
      queues: reported.queues,
      workers_reporting: reported.workers,
    });
  });
  return router;
}
