import type { ErrorRequestHandler, RequestHandler } from 'express';

export type FieldError = { field: string; message: string; expected: string };

type ProblemInit = {
  status: number;
  code: string;
  title: string;
  detail: string;
  retryable?: boolean;
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extension members (RFC 9457 §3.2), e.g. which operation of a batch failed. */
  extensions?: Record<string, unknown>;
};

/**
 * The one error family the app throws on purpose. Each kind has a stable
 * `code` that becomes the problem `type`, so clients can branch on it.
 */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly title: string;
  readonly retryable: boolean;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;
  readonly extensions: Record<string, unknown>;

  constructor(init: ProblemInit) {
    super(init.detail);
    this.status = init.status;
    this.code = init.code;
    this.title = init.title;
    this.retryable = init.retryable ?? false;
    this.errors = init.errors;
    this.headers = init.headers ?? {};
    this.extensions = init.extensions ?? {};
  }
}

export const badRequest = (detail: string) => new AppError({ status: 400, code: 'malformed-request', title: 'Malformed request', detail });

export const unauthorized = (detail: string, headers?: Record<string, string>) =>
  new AppError({ status: 401, code: 'unauthenticated', title: 'Authentication required', detail, ...(headers && { headers }) });

export const forbidden = (code: string, detail: string) => new AppError({ status: 403, code, title: 'Forbidden', detail });

export const notFound = (detail: string) => new AppError({ status: 404, code: 'not-found', title: 'Not found', detail });

export const conflict = (code: string, detail: string, errors?: FieldError[]) =>
  new AppError({ status: 409, code, title: 'Conflict', detail, ...(errors && { errors }) });

/**
 * The account holds as many of something as one user may (tokens, todos):
 * the request is fine, but the same request fails until some are removed.
 */
export const limitReached = (code: string, detail: string) => new AppError({ status: 409, code, title: 'Limit reached', detail });

export const unprocessable = (detail: string, errors: FieldError[]) =>
  new AppError({ status: 422, code: 'validation-failed', title: 'Validation failed', detail, errors });

/**
 * A write's condition (If-Match, or a batch operation's if_match) names a
 * version the resource has moved on from. `headers` carry its current ETag.
 */
export const preconditionFailed = (code: string, detail: string, errors: FieldError[], headers?: Record<string, string>) =>
  new AppError({ status: 412, code, title: 'Precondition failed', detail, errors, ...(headers && { headers }) });

export const unavailable = (detail: string, retryAfterSeconds = 5) =>
  new AppError({
    status: 503,
    code: 'dependency-unavailable',
    title: 'Service temporarily unavailable',
    detail,
    retryable: true,
    headers: { 'Retry-After': String(retryAfterSeconds) },
  });

// node-postgres and socket errors that mean "the database is not answering
// right now": the request may succeed if retried.
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P01',
  '57P02',
  '57P03', // admin/crash shutdown, cannot connect now
  '53300', // too many connections
  '57014', // statement timeout
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

export function isDependencyDown(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  return /timeout exceeded when trying to connect|Connection terminated|Client has encountered a connection error/.test(err.message);
}

// body-parser reports its failures with a `type`; these are the client's fault.
const BODY_PARSER_ERRORS: Record<string, (e: Error & { limit?: number }) => AppError> = {
  'entity.parse.failed': () => badRequest('The request body is not valid JSON.'),
  'entity.verify.failed': () => badRequest('The request body could not be verified.'),
  'request.aborted': () => badRequest('The request body was not received completely.'),
  'request.size.invalid': () => badRequest('The request body length does not match Content-Length.'),
  'parameters.too.many': () => unprocessable('The form has too many fields.', []),
  'entity.too.large': (e) =>
    new AppError({
      status: 413,
      code: 'body-too-large',
      title: 'Request body too large',
      detail: `The request body may be at most ${e.limit ?? 16384} bytes.`,
    }),
  'encoding.unsupported': () => unsupportedMediaType('This Content-Encoding is not supported; send identity, gzip or deflate.'),
  'charset.unsupported': () => unsupportedMediaType('This charset is not supported; send UTF-8.'),
};

export const unsupportedMediaType = (detail: string) =>
  new AppError({ status: 415, code: 'unsupported-media-type', title: 'Unsupported media type', detail });

export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  const type = (err as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && type in BODY_PARSER_ERRORS) return BODY_PARSER_ERRORS[type]!(err as Error);
  // The router cannot percent-decode a path segment: no resource has that name.
  if (err instanceof URIError) return notFound('Nothing has this name; the path is not valid percent-encoding.');
  if (isDependencyDown(err)) return unavailable('A backing service is not answering; try again shortly.');
  // Other client errors from Express and body-parser (http-errors), e.g. a
  // body that does not match its Content-Encoding.
  const status = (err as { status?: unknown; expose?: unknown } | null)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500 && (err as { expose?: unknown }).expose === true) {
    return status === 400
      ? badRequest('The request could not be read; check its body and Content-Encoding.')
      : new AppError({ status, code: 'client-error', title: 'Client error', detail: (err as Error).message });
  }
  return undefined;
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(notFound(`Nothing is at ${req.method} ${req.path}.`));
};

/** Every error leaves as application/problem+json (RFC 9457); 5xx details stay in the log. */
export const problemHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const known = toAppError(err);
  const problem =
    known ??
    new AppError({
      status: 500,
      code: 'internal',
      title: 'Internal server error',
      detail: 'Something went wrong on our side; it has been logged.',
      retryable: true,
    });
  if (problem.status >= 500) req.log.error({ err }, 'request failed');
  else req.log.debug({ code: problem.code }, problem.message);

  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.status(problem.status);
  res.set(problem.headers);
  res.type('application/problem+json; charset=utf-8');
  res.send(
    JSON.stringify({
      type: `/problems/${problem.code}`,
      title: problem.title,
      status: problem.status,
      detail: problem.message,
      request_id: String(req.id),
      retryable: problem.retryable,
      ...(problem.errors && { errors: problem.errors }),
      ...problem.extensions,
    }),
  );
};
