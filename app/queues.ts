import { Queue, QueueEvents, type ConnectionOptions, type DefaultJobOptions, type WorkerOptions } from 'bullmq';
import type { Logger } from './log';

/**
 * What the web workers (which add jobs and follow them) and the job worker
 * (which runs them) must agree on: queue names, payloads and timings.
 */
export const QUEUES = { imports: 'imports', maintenance: 'maintenance' } as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

// Payloads carry a version, so a job queued by one release is understood by
// the next (or refused by name, never misread). The job's state and its
// upload live in PostgreSQL (migrations/005_jobs.up.sql); the payload only
// points at them.
export type ImportPayload = { v: 1; jobId: string };
export type MaintenancePayload = { v: 1 };

export const CLEANUP_SCHEDULER = 'cleanup';

// A job worker renews its lock every lockDuration / 2; one that died (kill -9,
// power) leaves a lock that expires, and the next stalled check (run by any
// worker, on the interval of whichever worker runs it: keep them equal
// everywhere) puts the job back. Worst case ≈ lockDuration + stalledInterval.
export const STALL_TIMINGS: Readonly<Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'>> = Object.freeze({
  lockDuration: 10_000,
  stalledInterval: 5_000,
  maxStalledCount: 2,
});

// A database that restarts takes seconds; the backoff covers ~1 minute.
export const IMPORT_JOB_OPTIONS: DefaultJobOptions = Object.freeze({
  attempts: 7,
  backoff: { type: 'exponential', delay: 1_000 },
  // PostgreSQL keeps what users see; Redis keeps only recent history.
  removeOnComplete: { age: 3_600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3_600, count: 10_000 },
});

export const MAINTENANCE_JOB_OPTIONS: DefaultJobOptions = Object.freeze({
  attempts: 3,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { count: 100 },
  removeOnFail: { count: 100 },
});

/**
 * BullMQ's connection settings for a redis:// URL. Blocking connections
 * (workers, queue events) must wait for Redis forever rather than fail a
 * command; BullMQ sets that itself. A producer in a web worker fails fast
 * instead, so a request never hangs on a Redis that is away.
 */
export function bullConnection(url: string, use: 'producer' | 'blocking'): ConnectionOptions {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port || 6379),
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    db: Number(u.pathname.slice(1) || 0),
    ...(u.protocol === 'rediss:' && { tls: {} }),
    connectTimeout: 2_000,
    ...(use === 'producer'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: (n: number) => Math.min(n * 200, 2_000) }
      : { maxRetriesPerRequest: null }),
  };
}

type Listener = () => void;

// The queue events that can change what GET /api/jobs/:id shows.
const EVENTS = ['active', 'progress', 'completed', 'failed', 'delayed', 'waiting', 'stalled'] as const;

/**
 * The web workers' side of the job queue: adding jobs, and hearing that a
 * job moved (so an events stream can re-read it at once). Both connections
 * are this process's own, made on first use; the durable Redis holds them.
 */
export class JobsClient {
  private queue: Queue<ImportPayload> | undefined;
  private events: QueueEvents | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(
    private readonly redisUrl: string,
    private readonly log: Logger,
  ) {}

  /**
   * Queues an import. The job id is the jobs row's id: adding it again (a
   * retried request, the sweep of jobs whose entry was lost) is a no-op while
   * BullMQ still holds it, and the processor ignores a job that already ended.
   */
  async enqueueImport(jobId: string): Promise<void> {
    this.queue ??= this.watchErrors(new Queue<ImportPayload>(QUEUES.imports, { connection: bullConnection(this.redisUrl, 'producer') }));
    await this.queue.add('import', { v: 1, jobId }, { ...IMPORT_JOB_OPTIONS, jobId });
  }

  /** Calls `listener` whenever job `jobId` moves; returns the unsubscribe function. */
  onChange(jobId: string, listener: Listener): () => void {
    this.startEvents();
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(jobId);
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
    // close() waits for Redis; a Redis that is away must not hold up a shutdown.
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 1_000).unref());
    await Promise.race([Promise.allSettled([this.queue?.close(), this.events?.close()]), timeout]);
    this.queue?.disconnect().catch(() => undefined);
    this.events?.disconnect().catch(() => undefined);
  }

  private startEvents(): void {
    if (this.events) return;
    this.events = this.watchErrors(new QueueEvents(QUEUES.imports, { connection: bullConnection(this.redisUrl, 'blocking') }));
    for (const name of EVENTS) {
      this.events.on(name, ({ jobId }: { jobId: string }) => {
        for (const listener of this.listeners.get(jobId) ?? []) listener();
      });
    }
  }

  private watchErrors<T extends Queue<ImportPayload> | QueueEvents>(emitter: T): T {
    let warned = false;
    (emitter as QueueEvents).on('error', (err: Error) => {
      if (!warned) this.log.warn({ err: err.message }, 'job queue unavailable');
      warned = true;
    });
    return emitter;
  }
}
