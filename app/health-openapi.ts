// The health checks (app/health.ts) in the API description: nginx serves
// them on the public site too, for load balancers and uptime checks.
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { describeRoute, HEADERS, json } from './api-description';
import { liveness, readiness } from './health';

export function describeHealth(registry: OpenAPIRegistry): void {
  const noStore = { 'Cache-Control': HEADERS.cacheControl };
  describeRoute(registry, {
    method: 'get',
    path: '/health',
    operationId: 'getLiveness',
    tags: ['Operations'],
    summary: 'Liveness',
    description: 'The process answers; never touches a dependency.',
    access: 'anyone',
    outsideApi: true,
    responses: { 200: json('Alive.', liveness, noStore) },
  });
  describeRoute(registry, {
    method: 'get',
    path: '/health/ready',
    operationId: 'getReadiness',
    tags: ['Operations'],
    summary: 'Readiness',
    description: 'Whether PostgreSQL and Redis answer, and the worker is not shutting down.',
    access: 'anyone',
    outsideApi: true,
    responses: {
      200: json('Ready.', readiness, noStore),
      503: json('Not ready: what is down, or shutting down.', readiness, { ...noStore, 'Retry-After': HEADERS.retryAfter }),
    },
  });
}
