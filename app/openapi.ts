// The API description (OpenAPI 3.1), made at build time from the schemas the
// routes parse requests with and shape answers by: each feature describes
// its own routes in its openapi.ts. scripts/build-web.ts writes it where
// nginx serves it, /api/openapi.json.
import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { describeAccounts } from './accounts/openapi';
import { describeRoute, HEADERS, registerShared } from './api-description';
import { problem, PROBLEM_TYPES } from './problem-types';
import { describeHealth } from './health-openapi';
import { describeJobs } from './jobs/openapi';
import { describePublicPages } from './public-pages/openapi';
import { describeTodos } from './todos/openapi';

const DESCRIPTION = `A todo list service: accounts, todos with keyset paging, import and export, public pages.

**Authentication.** Browsers use the session cookie that sign-up and log-in set, and send the session's \`csrf_token\` as \`X-CSRF-Token\` with every POST, PUT, PATCH and DELETE. API clients send a personal token (POST /api/tokens) as \`Authorization: Bearer <token>\` and need no CSRF token. Another user's resources are 404, never 403.

**Bodies.** JSON (at most 16 KiB; a batch 512 KiB), or \`application/x-www-form-urlencoded\` where a body has only flat fields; answers are JSON in UTF-8.

**Errors** are \`application/problem+json\` (RFC 9457) with \`type\`, \`title\`, \`status\`, \`detail\`, \`request_id\`, \`retryable\` and, for validation, \`errors: [{field, message, expected}]\`:

| type | status | when |
|---|---|---|
${Object.entries(PROBLEM_TYPES)
  .map(([code, { status, about }]) => `| \`/problems/${code}\` | ${status} | ${about} |`)
  .join('\n')}

**Limits.** A general limit per user (per address when anonymous) with \`RateLimit\` and \`RateLimit-Policy\` headers, stricter ones on log-in and sign-up, and a coarse per-address limit in nginx: 429 with \`Retry-After\`. While a database is down: 503 with \`Retry-After\`.

**Every answer** carries \`X-Request-Id\`, also in every log line of that request.`;

/** This description and its reference page: static files nginx serves (nginx/sites/todo-stack.conf). */
function describeItself(registry: OpenAPIRegistry): void {
  const headers = { ETag: HEADERS.etag, 'Cache-Control': { ...HEADERS.cacheControl, description: '`public, max-age=60`' } };
  // 404: nginx's own problem, should a build lack the file.
  const common = { tags: ['Reference'], access: 'anyone' as const, outsideApi: true, request: {}, problems: ['not-found' as const] };
  describeRoute(registry, {
    ...common,
    method: 'get',
    path: '/api/openapi.json',
    operationId: 'getApiDescription',
    summary: 'This API description',
    description: 'OpenAPI 3.1, made at build time from the schemas the routes parse requests with and shape answers by.',
    responses: {
      200: { description: 'The description.', headers, content: { 'application/json': { schema: { type: 'object' } } } },
      304: { description: 'Not modified (If-None-Match).', headers },
    },
  });
  describeRoute(registry, {
    ...common,
    method: 'get',
    path: '/api/docs',
    operationId: 'getApiReference',
    summary: 'The API reference page',
    description: 'This description for people, as a web page.',
    responses: { 200: { description: 'The page.', headers, content: { 'text/html': { schema: { type: 'string' } } } } },
  });
}

export function buildApiDocument(version: string) {
  const registry = new OpenAPIRegistry();
  registerShared(registry);
  describeAccounts(registry);
  describeTodos(registry);
  describeJobs(registry);
  describePublicPages(registry);
  describeHealth(registry);
  describeItself(registry);
  // The problem shape by its meta id: every problem answer refers to it.
  return new OpenApiGeneratorV31([...registry.definitions, { type: 'schema', schema: problem }], {
    sortComponents: 'alphabetically',
  }).generateDocument({
    openapi: '3.1.0',
    info: { title: 'todo-stack API', version, description: DESCRIPTION, license: { name: 'MIT', identifier: 'MIT' } },
    servers: [{ url: '/', description: 'This site' }],
    tags: [
      { name: 'Accounts', description: 'Sign up, log in and out, the account.' },
      { name: 'API tokens', description: 'Personal tokens for API clients.' },
      { name: 'Todos', description: "The authenticated user's own todos." },
      { name: 'Import and export', description: 'The whole list as a file, and back.' },
      { name: 'Jobs', description: 'Imports run as jobs.' },
      { name: 'Public pages', description: 'Lists their owners published, for anyone.' },
      { name: 'Operations', description: 'Health checks.' },
      { name: 'Reference', description: 'This description, for programs and for people.' },
    ],
  });
}
