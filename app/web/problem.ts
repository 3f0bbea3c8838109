// Turns API failures into sentences a person can act on. Pure (no DOM), so
// the wording is unit-tested even for answers the test stack cannot provoke.

export type FieldError = { field: string; message: string; expected: string };

export type Problem = {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  request_id?: string;
  retryable?: boolean;
  errors?: FieldError[];
};

/** status 0: the request never got an answer (offline, DNS, connection reset). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem | null,
    readonly retryAfter: number | null,
    readonly requestId: string | null,
  ) {
    super(problem?.detail ?? `HTTP ${status}`);
  }

  get code(): string {
    return (this.problem?.type ?? '').replace(/^\/problems\//, '');
  }

  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500 || this.problem?.retryable === true;
  }
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

export function waitText(seconds: number): string {
  if (seconds < 60) return seconds === 1 ? '1 second' : `${seconds} seconds`;
  const minutes = Math.ceil(seconds / 60);
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

const retryIn = (seconds: number | null) =>
  seconds === null ? 'Wait a moment, then retry.' : seconds === 0 ? 'You can retry now.' : `You can retry in ${waitText(seconds)}.`;

// The API names fields by their JSON keys; people know them by what they hold.
const FIELD_NAMES: Record<string, string> = {
  email: 'The e-mail address',
  password: 'The password',
  content: 'The todo',
  public_slug: 'The public address',
};

export function fieldErrorText(error: FieldError): string {
  const name = FIELD_NAMES[error.field] ?? `The field “${error.field}”`;
  const message = error.message.trim().replace(/\.$/, '');
  // The API's own rules read as a predicate ("must be …"); a library's
  // messages are whole sentences that need the expectation spelled out.
  if (/^[a-z]/.test(message)) return `${name} ${message}.`;
  return `${message}. Expected ${error.expected}.`;
}

export function errorText(error: ApiError, context: { notFound?: string } = {}): string {
  const detail = error.problem?.detail;
  switch (error.status) {
    case 0:
      return 'Cannot reach the server. Check your connection, then retry.';
    case 403:
      return error.code.startsWith('csrf')
        ? 'This page’s session is out of date (someone may have logged in again in another tab). Reload the page.'
        : (detail ?? 'This is not allowed.');
    case 404:
      return context.notFound ?? detail ?? 'It no longer exists.';
    case 413:
      return `That is too long to send. ${detail ?? ''}`.trim();
    case 429:
      return `Too many requests right now. ${retryIn(error.retryAfter)}`;
    case 500:
      return `Something went wrong on the server. Retry; if it keeps failing, quote request ${error.requestId ?? error.problem?.request_id ?? 'id unknown'}.`;
  }
  if (error.status >= 500) return `The service is briefly unavailable. ${retryIn(error.retryAfter)}`;
  return detail ?? error.problem?.title ?? `The server answered with status ${error.status}.`;
}
