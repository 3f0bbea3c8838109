import type { z } from 'zod';
import type { Deps } from '../deps';
import { notFound } from '../errors';
import { pageOf, type Cursor } from '../todos/cursor';
import * as queries from './queries';
import type { jobPage, JobBody } from './schema';

/** A job as the API shows it (GET /api/jobs/:id, the events stream): its schema, app/jobs/schema.ts. */
export type JobView = JobBody;

export const isFinished = (job: Pick<JobView, 'state'>) => job.state === 'succeeded' || job.state === 'failed';

export function jobView(row: queries.JobRow): JobView {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    progress: { done: row.done, total: row.total },
    result: { created: row.created, skipped: row.skipped, invalid: row.invalid, invalid_count: row.invalid_count },
    error: row.error,
    created_at: row.created_at,
    started_at: row.started_at,
    finished_at: row.finished_at,
  };
}

/** The user's job, or 404 (another user's job is as unknown as one that never was). */
export async function getJob(deps: Deps, userId: string, jobId: string): Promise<JobView> {
  const row = await queries.findJob(deps.db, jobId, userId);
  if (!row) throw notFound('There is no such job.');
  return jobView(row);
}

export async function listJobs(
  deps: Deps,
  userId: string,
  q: { limit: number; cursor?: Cursor | undefined },
): Promise<z.output<typeof jobPage>> {
  const page = pageOf(await queries.listJobs(deps.db, userId, q.limit + 1, q.cursor), q.limit);
  return { data: page.data.map(jobView), next_cursor: page.next_cursor };
}
