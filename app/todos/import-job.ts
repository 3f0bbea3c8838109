import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import pg from 'pg';
import { publicSlugOf } from '../accounts/queries';
import { transaction } from '../db';
import type { Deps } from '../deps';
import { findUpload, finishJob, recordProgress, startJob } from '../jobs/queries';
import type { ImportPayload } from '../queues';
import { parseImport } from './import-parse';
import { importBatches, insertImportBatch, isTodoLimitError } from './import-queries';
import { listChanged } from './list-changed';

// Records per transaction: big enough that set-based inserts pay, small
// enough that a crash repeats little and progress moves several times a
// second. The size follows how long the last batch took (a busy machine
// gets smaller ones), so the job's events keep coming about every
// BATCH.targetMs however loaded the database is.
const BATCH = Object.freeze({ first: 1_000, min: 100, max: 5_000, targetMs: 200 });
// What the job keeps of the invalid lines (all are counted).
export const KEEP_INVALID = 100;

export type ImportResult = { created: number; skipped: number; invalid_count: number };

/**
 * Runs one attempt of an import job. Each batch commits together with the
 * job's progress, so an attempt that dies (kill -9, a database restart)
 * leaves whole batches behind, and the next attempt resumes after the last
 * of them. `stop.requested`: the worker is closing; the attempt ends after
 * its current batch and the job goes back to the queue.
 */
export async function runImport(
  deps: Deps,
  job: Job<ImportPayload>,
  token: string | undefined,
  stop: { requested: boolean },
): Promise<ImportResult | undefined> {
  if (job.data.v !== 1) throw new UnrecoverableError(`This release cannot run import jobs of payload version ${String(job.data.v)}.`);
  const { jobId } = job.data;
  const row = await startJob(deps.db, jobId);
  if (!row) return undefined; // ended already (a duplicate delivery), or removed
  await job.updateProgress({ done: row.done, total: row.total });
  try {
    const upload = await findUpload(deps.db, jobId);
    if (!upload) throw new UnrecoverableError('The uploaded file is no longer stored; upload it again.');
    const slug = await publicSlugOf(deps.db, row.user_id);

    let seen = row.done;
    let size: number = BATCH.first;
    let began = performance.now();
    // A previous attempt committed its first `done` records in whole batches
    // (never between two todos with one created_at); this one goes on after them.
    const rest = (function* () {
      let n = 0;
      for (const record of parseImport(upload.body, upload.format)) if (++n > row.done) yield record;
    })();
    for (const batch of importBatches(rest, () => size)) {
      seen += batch.length;
      const todos = batch.flatMap((r) => ('todo' in r ? [r.todo] : []));
      const invalid = batch.flatMap((r) => ('errors' in r ? [{ line: r.line, errors: r.errors }] : []));
      const counts = await transaction(deps.db, async (client) => {
        const c = await insertImportBatch(client, row.user_id, todos, deps.config.perUser.todos, { importedAt: row.created_at });
        await recordProgress(client, jobId, { done: seen, ...c, invalid, invalidCount: invalid.length }, KEEP_INVALID);
        return c;
      });
      // One "list changed" per batch: caches and nginx's copies see it at once.
      if (counts.created > 0) await listChanged(deps, row.user_id, slug);
      await job.updateProgress({ done: seen, total: row.total });
      const took = performance.now() - began;
      // Halved at most, doubled at most: one odd batch does not swing it.
      const factor = Math.min(2, Math.max(0.5, BATCH.targetMs / Math.max(took, 1)));
      size = Math.round(Math.min(BATCH.max, Math.max(BATCH.min, size * factor)));
      began = performance.now();
      if (stop.requested) {
        // Back to the queue at once; this or another worker resumes it.
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
    }
    if (!(await finishJob(deps.db, jobId, { state: 'succeeded' }))) return undefined;
    return await resultOf(deps, jobId);
  } catch (err) {
    if (err instanceof DelayedError) throw err;
    const permanent = err instanceof UnrecoverableError || isTodoLimitError(err) || isDataError(err);
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (permanent || lastAttempt) {
      await finishJob(deps.db, jobId, { state: 'failed', error: failureText(err, permanent) }).catch(() => undefined);
    }
    throw permanent && !(err instanceof UnrecoverableError) ? new UnrecoverableError((err as Error).message) : err;
  }
}

async function resultOf(deps: Deps, jobId: string): Promise<ImportResult> {
  const { rows } = await deps.db.query<ImportResult>('SELECT created, skipped, invalid_count FROM jobs WHERE id = $1', [jobId]);
  return rows[0] ?? { created: 0, skipped: 0, invalid_count: 0 };
}

// Errors in the data itself (a value PostgreSQL refuses) fail the same way on
// every attempt; retrying them only delays the answer.
const isDataError = (err: unknown) => err instanceof pg.DatabaseError && /^(22|23)/.test(err.code ?? '');

/** What the user reads in the job's `error`: what happened, and that the list is whole. */
function failureText(err: unknown, permanent: boolean): string {
  const kept = 'Every batch before it was imported; nothing of the failed batch was.';
  if (isTodoLimitError(err)) return `${err.message} ${kept}`;
  if (err instanceof UnrecoverableError) return `${err.message} ${kept}`;
  if (permanent) return `The import stopped on data the database refused (${(err as Error).message}). ${kept}`;
  return `The import failed after several tries: ${(err as Error).message}. ${kept} Importing the same file again continues it.`;
}
