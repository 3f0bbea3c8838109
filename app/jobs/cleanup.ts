import type { Queue } from 'bullmq';
import { deleteExpiredSessions } from '../accounts/queries';
import type { Deps } from '../deps';
import { deleteExpiredKeys } from '../todos/idempotency';
import type { JobMetrics } from './metrics';
import { deleteOldJobs, finishJob, unfinishedJobs } from './queries';
import type { ImportPayload } from '../queues';

export const JOB_RETENTION_DAYS = 7;
const BATCH = 5_000;
// A job accepted this long ago and still not finished should have a queue
// entry; if Redis lost it (or never got it), it is queued again.
const REQUEUE_AFTER_SECONDS = 60;

/** Deletes in batches until a batch comes back short; returns the total. */
async function drain(step: () => Promise<number>): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await step();
    total += n;
    if (n < BATCH) return total;
  }
}

export type CleanupReport = { sessions: number; idempotency_keys: number; jobs: number; edge_copies: number; requeued: number };

/**
 * The scheduled clean-up (a BullMQ job scheduler runs it once per interval,
 * whichever job worker picks it): every table and list that grows with use
 * is trimmed here. Each run logs what it removed and counts it.
 */
export async function cleanUp(deps: Deps, imports: Queue<ImportPayload>, metrics: JobMetrics): Promise<CleanupReport> {
  const report: CleanupReport = {
    sessions: await drain(() => deleteExpiredSessions(deps.db, BATCH)),
    idempotency_keys: await drain(() => deleteExpiredKeys(deps.db, BATCH)),
    jobs: await deleteOldJobs(deps.db, JOB_RETENTION_DAYS),
    edge_copies: await deps.edge.forgetStale(),
    requeued: await requeueLost(deps, imports),
  };
  for (const [what, n] of Object.entries(report)) metrics.cleanedUp.inc({ what }, n);
  deps.log.info({ removed: report }, 'clean-up done');
  return report;
}

/**
 * Jobs PostgreSQL accepted that the queue does not hold: added again (the
 * accepting request could not reach Redis, or Redis lost them). One the
 * queue failed for good, whose failure could not be written then, ends now.
 */
async function requeueLost(deps: Deps, imports: Queue<ImportPayload>): Promise<number> {
  let requeued = 0;
  for (const { id } of await unfinishedJobs(deps.db, REQUEUE_AFTER_SECONDS, 1_000)) {
    const job = await imports.getJob(id);
    if (!job) {
      await deps.jobs.enqueueImport(id);
      requeued += 1;
    } else if ((await job.getState()) === 'failed') {
      await finishJob(deps.db, id, { state: 'failed', error: job.failedReason || 'The job failed.' });
    }
  }
  return requeued;
}
