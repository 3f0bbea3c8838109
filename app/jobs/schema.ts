import { z } from 'zod';
import { cursorParam, nextCursor, pageSize } from '../todos/schema';

export const jobListQuery = z.object({
  limit: pageSize(100, 20),
  cursor: cursorParam,
});

// --- What the API answers (described in app/jobs/openapi.ts) -----------------

const time = (description: string) =>
  z.date().meta({ description: `${description}: ISO 8601, UTC, milliseconds`, example: '2026-01-02T03:04:05.678Z' });
const count = z.number().int().min(0);

/** A job as GET /api/jobs/{id} and every event of its stream show it. */
export const job = z
  .object({
    id: z.uuid().meta({ example: '0190f2b4-5c1e-7a3b-9d2e-4f6a8b0c1d2e' }),
    kind: z.enum(['import']),
    state: z.enum(['queued', 'running', 'succeeded', 'failed']),
    progress: z.object({ done: count.meta({ description: 'lines handled so far' }), total: count.nullable() }),
    result: z.object({
      created: count.meta({ description: 'todos made' }),
      skipped: count.meta({ description: 'lines already imported (the same line, or an export into its own account)' }),
      invalid: z
        .array(z.object({ line: z.number().int().min(1), errors: z.array(z.string()) }))
        .meta({ description: 'the first bad lines, each with why' }),
      invalid_count: count.meta({ description: 'all bad lines' }),
    }),
    error: z.string().nullable().meta({ description: 'why a failed job failed' }),
    created_at: time('when it was accepted'),
    started_at: time('when a worker first took it').nullable(),
    finished_at: time('when it ended').nullable(),
  })
  .meta({ id: 'Job' });

export const jobPage = z.object({ data: z.array(job), next_cursor: nextCursor }).meta({ id: 'JobPage' });

export type JobBody = z.output<typeof job>;
