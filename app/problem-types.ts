// Every problem the API can send (app/errors.ts and the throws that name a
// code, nginx/snippets/problems.conf), and their shape, for the API
// description (app/api-description.ts) and its reference table.
import { z } from 'zod';

/**
 * Every problem `type` the app (app/errors.ts and the throws that name a
 * code) or nginx (nginx/snippets/problems.conf) can send, with its status.
 */
export const PROBLEM_TYPES = {
  'malformed-request': { status: 400, about: 'The request cannot be read: malformed JSON, a body cut short, a wrong Content-Length.' },
  unauthenticated: {
    status: 401,
    about:
      'No valid session or API token; an Authorization header that is not a valid token (on any /api route); or a log-in with a wrong e-mail or password.',
  },
  'csrf-missing': { status: 403, about: "A request with the session cookie and an unsafe method lacks the session's X-CSRF-Token header." },
  'csrf-mismatch': { status: 403, about: "The X-CSRF-Token header is not this session's token." },
  'cross-site': { status: 403, about: "A log-in or sign-up sent from another site's page." },
  forbidden: { status: 403, about: 'nginx refused the address; not sent by the API itself.' },
  'not-found': { status: 404, about: 'No such resource, or it is not yours (existence is never disclosed), or no such path.' },
  'email-taken': { status: 409, about: 'An account with this e-mail address exists.' },
  'slug-taken': { status: 409, about: 'Another user has this public slug.' },
  'token-limit-reached': { status: 409, about: 'The account has as many API tokens as it may; revoke one first.' },
  'todo-limit-reached': { status: 409, about: 'The account has as many todos as it may; delete some first.' },
  'todo-changed': {
    status: 412,
    about:
      "A write's If-Match (a batch operation's if_match) does not name the todo's current version, or is empty: nothing was written. A single todo's answer carries its current ETag.",
  },
  'body-too-large': {
    status: 413,
    about: 'The body is larger than 16 KiB (a batch: 512 KiB; the import: 10 MiB), from the app or from nginx.',
  },
  'import-too-large': { status: 413, about: 'The import file has more than 100,000 lines.' },
  'unsupported-media-type': {
    status: 415,
    about: 'A body that is not JSON or a form (an import: not NDJSON or CSV), or a charset or Content-Encoding the API does not read.',
  },
  'validation-failed': {
    status: 422,
    about: 'The request parses but breaks a rule; `errors` says which field, why and what was expected.',
  },
  'idempotency-key-reused': { status: 422, about: 'This Idempotency-Key was used with a different request.' },
  'empty-import': { status: 422, about: 'The import file has no lines.' },
  'rate-limited': { status: 429, about: 'Too many requests from this client, user or address; see Retry-After.' },
  'too-many-exports': { status: 429, about: 'Two exports of this user are running; see Retry-After.' },
  'too-many-jobs': { status: 429, about: 'Two imports of this user are queued or running; see Retry-After.' },
  'dependency-unavailable': { status: 503, about: 'A database or the application is not answering; see Retry-After.' },
  'exports-busy': { status: 503, about: 'Every export slot of the service is taken; see Retry-After.' },
} as const satisfies Record<string, { status: number; about: string }>;

export type ProblemCode = keyof typeof PROBLEM_TYPES;

export const fieldError = z
  .object({
    field: z.string().meta({ description: 'the field, query parameter or header that failed (dot path); `(body)` for the whole body' }),
    message: z.string().meta({ description: 'what is wrong with it' }),
    expected: z.string().meta({ description: 'what would have been accepted' }),
  })
  .meta({ id: 'FieldError' });

const problemTypes = Object.keys(PROBLEM_TYPES).map((code) => `/problems/${code}`);

export const problem = z
  .object({
    type: z.string().meta({ description: 'A stable kind to branch on: `/problems/<code>`.', example: '/problems/validation-failed' }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().meta({ description: 'What happened, for people.' }),
    request_id: z.string().meta({ description: 'The same as the X-Request-Id header; quote it when reporting a problem.' }),
    retryable: z.boolean().meta({ description: 'Whether sending the same request again can succeed (after Retry-After, when given).' }),
    errors: z.array(fieldError).optional().meta({ description: 'For validation problems: every field that failed.' }),
    operation_index: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'A batch (POST /api/todos/batch): the index of the operation that failed; nothing in the batch was applied.' }),
  })
  .meta({
    id: 'Problem',
    description: `An error, as RFC 9457 application/problem+json. The types: ${problemTypes.map((t) => `\`${t}\``).join(', ')}.`,
  });

export type ProblemBody = z.output<typeof problem>;
