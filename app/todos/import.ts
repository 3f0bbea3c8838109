import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import { transaction } from '../db';
import type { Deps } from '../deps';
import { AppError } from '../errors';
import { countUnfinished, insertJob, insertUpload, lockUserJobs } from '../jobs/queries';
import type { JobBody } from '../jobs/schema';
import { jobView } from '../jobs/service';
import { nginxContract } from '../nginx-contract';
import { once, requestHash, type StoredResponse } from './idempotency';
import { countLines, importFormat } from './import-parse';

export const IMPORT_MAX_BYTES = nginxContract.importLimitBytes;
export const IMPORT_MAX_LINES = 100_000;
// Imports of one user queued or running at once; each holds its upload.
export const UNFINISHED_IMPORTS_PER_USER = 2;

const problem = (status: number, code: string, title: string, detail: string, retryAfter?: number) =>
  new AppError({ status, code, title, detail, ...(retryAfter && { retryable: true, headers: { 'Retry-After': String(retryAfter) } }) });

/**
 * POST /api/todos/import: checks the upload, stores it with its job in one
 * transaction (so a 202 means the job will run, whatever happens to Redis),
 * then queues it. A job the queue did not get is queued by the clean-up's
 * sweep. With an Idempotency-Key, a repeat returns the first job.
 */
export async function acceptImport(
  deps: Deps,
  userId: string,
  upload: Buffer,
  contentType: string | undefined,
  idempotencyKey?: string,
): Promise<StoredResponse & { replayed: boolean }> {
  const format = importFormat(contentType, upload);
  if (!format) {
    throw problem(
      415,
      'unsupported-media-type',
      'Unsupported media type',
      'Send the file as NDJSON (application/x-ndjson) or CSV (text/csv).',
    );
  }
  const records = countLines(upload, format);
  if (records === 0) throw problem(422, 'empty-import', 'Nothing to import', 'The file has no lines to import.');
  if (records > IMPORT_MAX_LINES) {
    throw problem(
      413,
      'import-too-large',
      'Import too large',
      `The file has ${records} lines; an import takes at most ${IMPORT_MAX_LINES}. Split it.`,
    );
  }
  const digest = createHash('sha256').update(upload).digest();

  const accept = async (client: PoolClient): Promise<StoredResponse> => {
    await lockUserJobs(client, userId);
    if ((await countUnfinished(client, userId)) >= UNFINISHED_IMPORTS_PER_USER) {
      throw problem(
        429,
        'too-many-jobs',
        'Too many imports at once',
        `At most ${UNFINISHED_IMPORTS_PER_USER} imports may be queued or running; try again when one has finished.`,
        10,
      );
    }
    const job = await insertJob(client, userId, 'import', records);
    await insertUpload(client, job.id, format, digest, upload);
    return { status: 202, body: jobView(job) satisfies JobBody, location: `/api/jobs/${job.id}` };
  };
  const accepted =
    idempotencyKey === undefined
      ? { ...(await transaction(deps.db, accept)), replayed: false }
      : await once(
          deps,
          userId,
          idempotencyKey,
          requestHash('POST', '/api/todos/import', { format, digest: digest.toString('hex') }),
          accept,
        );

  const jobId = (accepted.body as { id: string }).id;
  await deps.jobs
    .enqueueImport(jobId)
    .catch((err: unknown) => deps.log.warn({ err, job: jobId }, 'import stored; queueing it is left to the clean-up sweep'));
  return accepted;
}
