// The pieces every route's OpenAPI entry shares (app/<feature>/openapi.ts):
// the problem answers (shapes in app/problem-types.ts), the headers that matter, the two
// ways to authenticate. Used at build time only (scripts/build-web.ts writes
// the document); the running app never loads it.
import type { OpenAPIRegistry, ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { PROBLEM_TYPES, type ProblemCode } from './problem-types';

export const JSON_TYPE = 'application/json';
export const PROBLEM_TYPE = 'application/problem+json';

/** True only when A and B are the same type: rows and the answers they become must not drift apart. */
export type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

// --- Headers -----------------------------------------------------------------

type Header = { description: string; required?: boolean; schema: { type: 'string'; pattern?: string; enum?: string[] } };
const text = (description: string, required = false): Header => ({ description, required, schema: { type: 'string' } });

export const HEADERS = {
  requestId: text("The request's id (nginx's), also in every log line of it and in a problem's `request_id`.", true),
  etag: text('A weak validator of this representation; send it back in If-None-Match to get 304 when nothing changed.', true),
  version: text("The todo's version, a strong ETag (its `updated_at`, quoted): send it in If-Match to write only this version.", true),
  currentVersion: text("The todo's current version (a strong ETag), when it exists: read it again, then send this in If-Match."),
  location: text('Where the created resource (or the job) is.', true),
  retryAfter: { description: 'Seconds to wait before retrying.', required: true, schema: { type: 'string', pattern: '^[0-9]+$' } },
  rateLimit: text('The general limit\'s state (IETF draft-8 "RateLimit" header), when the limit is on: `"general";r=<left>;t=<seconds>`.'),
  rateLimitPolicy: text('The limit that applies (IETF draft-8): `"general";q=<requests>;w=<seconds>`.'),
  cacheControl: text('How caches may keep this answer.', true),
  replayed: {
    description: 'On a replay of an Idempotency-Key: the first response, sent again.',
    schema: { type: 'string', enum: ['true'] },
  },
  wwwAuthenticate: text('`Bearer realm="todo-stack"`, or `Bearer error="invalid_token"` when the token is not valid.'),
  xCache: {
    description:
      'Where the app found the page: its Redis cache (HIT, STALE), PostgreSQL after a miss (MISS), or PostgreSQL because it does not cache this page (BYPASS).',
    required: true,
    schema: { type: 'string', enum: ['HIT', 'MISS', 'STALE', 'BYPASS'] },
  },
  setCookie: text('The session cookie: `__Host-sid` over HTTPS, `sid` over plain HTTP; HttpOnly, SameSite=Lax, Path=/.', true),
} satisfies Record<string, Header>;

const sharedHeaderNames = new Map<Header, string>(Object.entries(HEADERS).map(([key, header]) => [header, key]));
const headerRef = (header: Header) => {
  const key = sharedHeaderNames.get(header);
  return key ? { $ref: `#/components/headers/${key}` } : header;
};

/** Headers every /api response may carry, besides the ones a route names. */
const everyApiResponse = { 'X-Request-Id': HEADERS.requestId, RateLimit: HEADERS.rateLimit, 'RateLimit-Policy': HEADERS.rateLimitPolicy };

// --- Responses ---------------------------------------------------------------

export const json = (description: string, schema: z.ZodType, headers: Record<string, Header> = {}): ResponseConfig => ({
  description,
  headers: { ...headers },
  content: { [JSON_TYPE]: { schema } },
});

export const empty = (description: string, headers: Record<string, Header> = {}): ResponseConfig => ({ description, headers });

export const notModified = empty('Not modified: the If-None-Match header names the current ETag. No body.', {
  ETag: HEADERS.etag,
  'Cache-Control': HEADERS.cacheControl,
});

/**
 * `If-None-Match: *` asks "unless you have any representation": on a GET
 * that is a 304 (RFC 9110 §13.1.2), which Express answers by itself on the
 * routes that send no ETag too.
 */
const notModifiedAny = empty('Not modified: the request said `If-None-Match: *`, and the resource exists. No body.');

function problemResponse(status: number, codes: ProblemCode[]): ResponseConfig {
  const types = [...new Set(codes)].map((code) => `/problems/${code}`);
  // The shared shape, narrowed to the types this answer can have (written
  // out: zod would copy the whole shape into every answer).
  const schema = {
    allOf: [
      { $ref: '#/components/schemas/Problem' },
      { type: 'object' as const, properties: { type: { type: 'string' as const, enum: types }, status: { const: status } } },
    ],
  };
  const headers: Record<string, Header> = {};
  if (status === 429 || status === 503) headers['Retry-After'] = HEADERS.retryAfter;
  if (status === 401) headers['WWW-Authenticate'] = HEADERS.wwwAuthenticate;
  const lines = [...new Set(codes)].map((code) => `- \`/problems/${code}\`: ${PROBLEM_TYPES[code].about}`);
  return { description: lines.join('\n'), headers, content: { [PROBLEM_TYPE]: { schema } } };
}

// --- Routes ------------------------------------------------------------------

/**
 * Who may call a route: anyone; a user (session or token); a user whose
 * unsafe requests with the session cookie carry X-CSRF-Token.
 */
export type Access = 'anyone' | 'user';

export type Route = Omit<RouteConfig, 'responses' | 'security'> & {
  access: Access;
  /** Problems this route raises itself, besides those every route of its kind can answer. */
  problems?: ProblemCode[];
  /** Takes a body (JSON or form): the body parsers' problems apply. */
  body?: boolean;
  responses: Record<number, ResponseConfig>;
  /** Not under /api: no API limits, no API body parsers. */
  outsideApi?: boolean;
  /** Answered before credentials are read (the public pages): a bad token is no 401 here. */
  ignoresCredentials?: boolean;
};

const UNSAFE = new Set(['post', 'put', 'patch', 'delete']);

/**
 * Registers one operation with what every route of its kind shares: its
 * security, the problems any such request can meet (authentication, CSRF,
 * body parsing, the limits, an outage) and the headers every answer has.
 */
export function describeRoute(registry: OpenAPIRegistry, route: Route): void {
  const { access, problems = [], body = false, responses, outsideApi = false, ignoresCredentials = false, ...config } = route;
  const codes: ProblemCode[] = [...problems];
  // nginx's per-address limit and its answer for an application that does not
  // answer stand before every route (nginx/snippets/problems.conf).
  codes.push('rate-limited', 'dependency-unavailable');
  // Under /api a bad token is refused even where no user is needed.
  if (access === 'user' || !(outsideApi || ignoresCredentials)) codes.push('unauthenticated');
  if (access === 'user' && UNSAFE.has(config.method)) codes.push('csrf-missing', 'csrf-mismatch');
  // The API's body parsers read a body on any route that is sent one.
  if (!outsideApi) codes.push('malformed-request', 'unsupported-media-type', 'body-too-large');
  if (body) codes.push('validation-failed');

  const byStatus = new Map<number, ProblemCode[]>();
  for (const code of codes) byStatus.set(PROBLEM_TYPES[code].status, [...(byStatus.get(PROBLEM_TYPES[code].status) ?? []), code]);
  const all: Record<string, ResponseConfig> = {};
  // Copies: the shared answers (notModified…) must not carry one route's headers to the next.
  for (const [status, response] of Object.entries(responses)) all[status] = { ...response };
  if (config.method === 'get' && !all['304']) all['304'] = { ...notModifiedAny };
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    const answer = problemResponse(status, list);
    const own = all[String(status)];
    // A status the route answers itself (readiness's 503) may also come as a problem.
    all[String(status)] = own
      ? {
          ...own,
          description: own.content
            ? `${own.description}\n\nOr a problem:\n${answer.description}`
            : `${own.description}\n${answer.description}`,
          content: { ...own.content, ...answer.content },
        }
      : answer;
  }
  for (const response of Object.values(all)) {
    const headers = {
      ...(outsideApi ? { 'X-Request-Id': HEADERS.requestId } : everyApiResponse),
      ...(response.headers as Record<string, Header>),
    };
    // The shared ones by reference, so the document says each once.
    response.headers = Object.fromEntries(Object.entries(headers).map(([name, header]) => [name, headerRef(header)]));
  }

  const security: Record<string, string[]>[] =
    access === 'anyone'
      ? []
      : UNSAFE.has(config.method)
        ? [{ bearerToken: [] }, { sessionCookie: [], csrfToken: [] }]
        : [{ bearerToken: [] }, { sessionCookie: [] }];
  registry.registerPath({ ...config, security, responses: all });
}

/** The shared headers, and the two ways to authenticate as security schemes. */
export function registerShared(registry: OpenAPIRegistry): void {
  for (const [key, header] of Object.entries(HEADERS)) registry.registerComponent('headers', key, header);
  registry.registerComponent('securitySchemes', 'bearerToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'A personal API token (POST /api/tokens) as `Authorization: Bearer <token>`. No CSRF token needed.',
  });
  registry.registerComponent('securitySchemes', 'sessionCookie', {
    type: 'apiKey',
    in: 'cookie',
    name: '__Host-sid',
    description:
      'The session cookie set by sign-up and log-in: `__Host-sid` over HTTPS, `sid` over plain HTTP. HttpOnly; browsers send it by themselves.',
  });
  registry.registerComponent('securitySchemes', 'csrfToken', {
    type: 'apiKey',
    in: 'header',
    name: 'X-CSRF-Token',
    description:
      "The session's `csrf_token` (from sign-up, log-in or GET /api/session), required with the cookie on POST, PUT, PATCH and DELETE.",
  });
}

/** A resource id in the path. A malformed one names nothing: 404, like another user's. */
export const idParam = (what: string) =>
  z.object({
    id: z.string().meta({
      description: `The ${what}'s id (a UUID). A malformed id, or another user's, is 404.`,
      example: '0190f2b4-5c1e-7a3b-9d2e-4f6a8b0c1d2e',
    }),
  });

/** The conditional writes' If-Match (app/todos/versions.ts). */
export const ifMatch = z.object({
  'If-Match': z.string().optional().meta({
    description:
      "Write only if the todo is at this version: its ETag (from GET /api/todos/{id}, a write, or a list's `updated_at` quoted), a comma-separated list of them, or `*` (any version). Another version, or an empty value, is 412 `/problems/todo-changed` with the current ETag; a value that is not ETags is 422. Without it the write is unconditional.",
    example: '"2026-01-02T03:04:05.678Z"',
  }),
});

export const ifNoneMatch = z.object({
  'If-None-Match': z
    .string()
    .optional()
    .meta({ description: 'An ETag from an earlier answer: 304 with no body when it is still current.', example: 'W/"q2Xj0Yk0cQ"' }),
});
