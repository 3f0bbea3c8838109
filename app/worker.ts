import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue, Worker, type Job } from 'bullmq';
import { checkRuntime, ConfigError, loadConfig } from './config';
import { closeDeps, openDeps, type Deps } from './deps';
import { cleanUp } from './jobs/cleanup';
import { createJobMetrics, type JobMetrics } from './jobs/metrics';
import { bullConnection, CLEANUP_SCHEDULER, MAINTENANCE_JOB_OPTIONS, QUEUES, STALL_TIMINGS, type ImportPayload } from './queues';
import { createLogger } from './log';
import { startPublishing } from './metrics-merge';
import { runImport } from './todos/import-job';

// PM2 kills the process 10 s after SIGINT (ecosystem.config.js); closing
// waits at most this long for the running batches, which take well under a
// second each, and then leaves the rest to the stalled-job check.
const CLOSE_TIMEOUT_MS = 8_000;

/** Times an attempt and counts its outcome. */
function timed<T>(metrics: JobMetrics, queue: string, run: () => Promise<T>): Promise<T> {
  const end = metrics.duration.startTimer({ queue });
  return run().then(
    (value) => {
      end({ outcome: 'completed' });
      return value;
    },
    (err: unknown) => {
      end({ outcome: (err as Error).name === 'DelayedError' ? 'returned' : 'failed' });
      throw err;
    },
  );
}

async function main(): Promise<void> {
  const { engines } = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { engines: { node: string } };
  checkRuntime(process.version, engines.node);
  const config = loadConfig();
  const log = createLogger(config.logLevel).child({ app: 'todo-jobs' });
  const deps: Deps = await openDeps(config, log);

  const producer = bullConnection(config.redisUrl, 'producer');
  const blocking = bullConnection(config.redisUrl, 'blocking');
  const importQueue = new Queue<ImportPayload>(QUEUES.imports, { connection: producer });
  const maintenanceQueue = new Queue(QUEUES.maintenance, { connection: producer });
  const metrics = createJobMetrics(deps.metrics.registry, [importQueue, maintenanceQueue]);
  const stop = { requested: false };

  const imports = new Worker<ImportPayload>(
    QUEUES.imports,
    (job: Job<ImportPayload>, token?: string) => timed(metrics, QUEUES.imports, () => runImport(deps, job, token, stop)),
    { connection: blocking, concurrency: config.jobs.concurrency, ...STALL_TIMINGS },
  );
  const maintenance = new Worker(QUEUES.maintenance, () => timed(metrics, QUEUES.maintenance, () => cleanUp(deps, importQueue, metrics)), {
    connection: blocking,
    concurrency: 1,
    ...STALL_TIMINGS,
  });
  for (const worker of [imports, maintenance]) {
    worker.on('error', (err) => log.warn({ err: err.message }, 'job queue unavailable'));
    worker.on('failed', (job, err) =>
      log.warn({ queue: worker.name, job: job?.id, attempt: job?.attemptsMade, err: err.message }, 'job attempt failed'),
    );
    worker.on('completed', (job) => log.info({ queue: worker.name, job: job.id, result: job.returnvalue as unknown }, 'job done'));
  }
  await Promise.all([imports.waitUntilReady(), maintenance.waitUntilReady()]);
  // Only the job worker writes the schedule (several writers have been seen
  // to duplicate or lose schedulers); every job worker writes the same one.
  await maintenanceQueue.upsertJobScheduler(
    CLEANUP_SCHEDULER,
    { every: config.jobs.cleanupEveryMs },
    { name: 'cleanup', data: { v: 1 }, opts: MAINTENANCE_JOB_OPTIONS },
  );
  const stopPublishing = startPublishing(deps.metrics, deps.redis, log);
  log.info({ concurrency: config.jobs.concurrency, cleanupEveryMs: config.jobs.cleanupEveryMs }, 'job worker ready');

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    stop.requested = true;
    log.info({ signal }, 'closing: running imports stop after their current batch');
    stopPublishing();
    // close() never resolves while Redis is away: a timer bounds it.
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), CLOSE_TIMEOUT_MS).unref());
    void Promise.race([Promise.all([imports.close(), maintenance.close()]), timeout])
      .then(async (outcome) => {
        if (outcome === 'timeout') log.warn('workers did not close in time; their jobs return after the stalled check');
        await Promise.race([Promise.all([importQueue.close(), maintenanceQueue.close()]), timeout]);
        await closeDeps(deps);
        log.info('stopped');
        process.exit(0);
      })
      .catch((err: unknown) => {
        log.error({ err }, 'unclean shutdown');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('message', (msg) => msg === 'shutdown' && shutdown('shutdown message'));
  // PM2's wait_ready: PostgreSQL and Redis answer and the workers listen.
  process.send?.('ready');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`todo-stack: ${err.message}`);
  else createLogger('info').fatal({ err }, 'job worker failed to start');
  process.exit(1);
});
