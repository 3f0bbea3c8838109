import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type JobMetrics = {
  duration: Histogram<'queue' | 'outcome'>;
  cleanedUp: Counter<'what'>;
};

const STATES = ['waiting', 'active', 'delayed', 'failed', 'prioritized'] as const;

/**
 * The job worker's metrics, in its registry (published to /metrics like a
 * web worker's). Queue depths are the queue's, not this process's: every job
 * worker reports the same numbers, so the merge takes the largest, not the sum.
 */
export function createJobMetrics(registry: Registry, queues: Queue[]): JobMetrics {
  new Gauge({
    name: 'jobs_queue_jobs',
    help: 'Jobs in each queue by state: a growing waiting count is a backlog',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    aggregator: 'max',
    async collect() {
      await Promise.all(
        queues.map(async (queue) => {
          const counts = await queue.getJobCounts(...STATES).catch(() => undefined);
          for (const state of STATES) if (counts) this.set({ queue: queue.name, state }, counts[state] ?? 0);
        }),
      );
    },
  });
  return {
    duration: new Histogram({
      name: 'job_duration_seconds',
      help: 'Time a job attempt ran, by queue and outcome',
      labelNames: ['queue', 'outcome'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120],
      registers: [registry],
    }),
    cleanedUp: new Counter({
      name: 'cleanup_removed_total',
      help: 'Rows and entries the scheduled clean-up removed (requeued: lost jobs queued again)',
      labelNames: ['what'] as const,
      registers: [registry],
    }),
  };
}
