// The job routes (app/jobs/routes.ts) in the API description.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { describeRoute, HEADERS, idParam, json } from '../api-description';
import { job, jobListQuery, jobPage } from './schema';

const tags = ['Jobs'];
const noStore = { 'Cache-Control': HEADERS.cacheControl };

export function describeJobs(registry: OpenAPIRegistry): void {
  describeRoute(registry, {
    method: 'get',
    path: '/api/jobs',
    operationId: 'listJobs',
    tags,
    summary: 'List jobs',
    description: "The account's imports, newest first.",
    access: 'user',
    request: { query: jobListQuery },
    problems: ['validation-failed'],
    responses: { 200: json('A page of jobs.', jobPage, noStore) },
  });

  describeRoute(registry, {
    method: 'get',
    path: '/api/jobs/{id}',
    operationId: 'getJob',
    tags,
    summary: 'Read a job',
    access: 'user',
    request: { params: idParam('job') },
    problems: ['not-found'],
    responses: { 200: json('The job.', job, noStore) },
  });

  describeRoute(registry, {
    method: 'get',
    path: '/api/jobs/{id}/events',
    operationId: 'followJob',
    tags,
    summary: "Follow a job's progress",
    description:
      'Server-sent events: `retry: 1000` first, then the job (as GET /api/jobs/{id} shows it) at once and whenever it changes, as `progress` events, and a last `done` event when it has ended (the stream then closes). Every event is the whole job, so a client that reconnects (with `Last-Event-ID` or not) gets the current state. A `: heartbeat` comment every 15 s keeps an idle stream open.',
    access: 'user',
    request: {
      params: idParam('job'),
      headers: z.object({
        'Last-Event-ID': z
          .string()
          .optional()
          .meta({ description: 'Sent by browsers on reconnecting; the answer is the current state either way.', example: 'running.500.0' }),
      }),
    },
    problems: ['not-found'],
    responses: {
      200: {
        description: 'The stream.',
        headers: noStore,
        content: {
          'text/event-stream': {
            schema: { type: 'string', description: 'Events whose `data` is a Job (#/components/schemas/Job).' },
            example:
              'retry: 1000\n\nid: running.500.0\nevent: progress\ndata: {"id":"0190f2b4-5c1e-7a3b-9d2e-4f6a8b0c1d2e","kind":"import","state":"running",…}\n\n',
          },
        },
      },
    },
  });
}
