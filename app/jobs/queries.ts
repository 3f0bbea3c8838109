import type { Queryable } from '../db';
import type { Cursor } from '../todos/cursor';

export type JobState = 'queued' | 'running' | 'succeeded' | 'failed';
export type InvalidLine = { line: number; errors: string[] };

export type JobRow = {
  id: string;
  user_id: string;
  kind: 'import';
  state: JobState;
  done: number;
  total: number | null;
  created: number;
  skipped: number;
  invalid: InvalidLine[];
  invalid_count: number;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
};

const COLUMNS = `id, user_id, kind, state, done, total, created, skipped, invalid, invalid_count, error,
  created_at, started_at, finished_at`;

export async function insertJob(q: Queryable, userId: string, kind: JobRow['kind'], total: number): Promise<JobRow> {
  const { rows } = await q.query<JobRow>(`INSERT INTO jobs (user_id, kind, total) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`, [
    userId,
    kind,
    total,
  ]);
  return rows[0]!;
}

export async function insertUpload(q: Queryable, jobId: string, format: string, digest: Buffer, body: Buffer): Promise<void> {
  await q.query('INSERT INTO job_uploads (job_id, format, digest, body) VALUES ($1, $2, $3, $4)', [jobId, format, digest, body]);
}

export async function findUpload(
  q: Queryable,
  jobId: string,
): Promise<{ format: 'ndjson' | 'csv'; digest: Buffer; body: Buffer } | undefined> {
  const { rows } = await q.query<{ format: 'ndjson' | 'csv'; digest: Buffer; body: Buffer }>(
    'SELECT format, digest, body FROM job_uploads WHERE job_id = $1',
    [jobId],
  );
  return rows[0];
}

/** A job by id; with a user id, only if it is that user's. */
export async function findJob(q: Queryable, jobId: string, userId?: string): Promise<JobRow | undefined> {
  const { rows } = await q.query<JobRow>(`SELECT ${COLUMNS} FROM jobs WHERE id = $1 AND ($2::uuid IS NULL OR user_id = $2)`, [
    jobId,
    userId ?? null,
  ]);
  return rows[0];
}

export async function listJobs(q: Queryable, userId: string, limit: number, after?: Cursor): Promise<JobRow[]> {
  const { rows } = await q.query<JobRow>(
    `SELECT ${COLUMNS} FROM jobs
      WHERE user_id = $1 AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
      ORDER BY created_at DESC, id DESC LIMIT $2`,
    [userId, limit, after?.createdAt ?? null, after?.id ?? null],
  );
  return rows;
}

/** Jobs of the user not finished yet; the caller holds the user's job lock. */
export async function countUnfinished(q: Queryable, userId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM jobs WHERE user_id = $1 AND finished_at IS NULL', [userId]);
  return rows[0]!.n;
}

/** Serialises a user's job creations (the per-user limit) within a transaction. */
export async function lockUserJobs(q: Queryable, userId: string): Promise<void> {
  await q.query("SELECT pg_advisory_xact_lock(hashtextextended('jobs:' || $1, 0))", [userId]);
}

/** Marks an attempt as started; returns the row, or nothing if it already finished. */
export async function startJob(q: Queryable, jobId: string): Promise<JobRow | undefined> {
  const { rows } = await q.query<JobRow>(
    `UPDATE jobs SET state = 'running', started_at = coalesce(started_at, now())
      WHERE id = $1 AND finished_at IS NULL RETURNING ${COLUMNS}`,
    [jobId],
  );
  return rows[0];
}

export type Progress = { done: number; created: number; skipped: number; invalid: InvalidLine[]; invalidCount: number };

/** Records a committed batch, in the batch's own transaction. */
export async function recordProgress(q: Queryable, jobId: string, p: Progress, keepInvalid: number): Promise<void> {
  await q.query(
    `UPDATE jobs SET done = $2, created = created + $3, skipped = skipped + $4,
            invalid = CASE WHEN jsonb_array_length(invalid) >= $7 THEN invalid
                           ELSE (SELECT coalesce(jsonb_agg(e), '[]') FROM (
                                   SELECT e FROM jsonb_array_elements(invalid || $5::jsonb) AS e LIMIT $7) AS first) END,
            invalid_count = invalid_count + $6
      WHERE id = $1`,
    [jobId, p.done, p.created, p.skipped, JSON.stringify(p.invalid), p.invalidCount, keepInvalid],
  );
}

/** Ends a job once; its upload is no longer needed. Returns false if it had already ended. */
export async function finishJob(
  q: Queryable,
  jobId: string,
  outcome: { state: 'succeeded' } | { state: 'failed'; error: string },
): Promise<boolean> {
  const { rowCount } = await q.query(
    `WITH ended AS (
       UPDATE jobs SET state = $2, error = $3, finished_at = now(),
                       -- Rows an import skips (Todoist's sections) were counted in total.
                       done = CASE WHEN $2 = 'succeeded' THEN greatest(done, coalesce(total, done)) ELSE done END
        WHERE id = $1 AND finished_at IS NULL RETURNING id)
     , freed AS (DELETE FROM job_uploads WHERE job_id IN (SELECT id FROM ended))
     SELECT 1 FROM ended`,
    [jobId, outcome.state, outcome.state === 'failed' ? outcome.error : null],
  );
  return rowCount === 1;
}

/** Jobs accepted but not finished, older than `olderThanSeconds`: candidates to (re)queue. */
export async function unfinishedJobs(q: Queryable, olderThanSeconds: number, limit: number): Promise<{ id: string }[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT id FROM jobs WHERE finished_at IS NULL AND created_at < now() - make_interval(secs => $1)
      ORDER BY created_at LIMIT $2`,
    [olderThanSeconds, limit],
  );
  return rows;
}

/** Finished jobs (and, by cascade, any upload left) older than the retention. */
export async function deleteOldJobs(q: Queryable, retentionDays: number): Promise<number> {
  const { rowCount } = await q.query('DELETE FROM jobs WHERE finished_at < now() - make_interval(days => $1)', [retentionDays]);
  return rowCount ?? 0;
}
