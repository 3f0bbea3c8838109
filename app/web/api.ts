import { ApiError, parseRetryAfter, type Problem } from './problem';
import { currentSession, setSession } from './session';
import type { SessionInfo } from './types';

type Options = {
  body?: unknown;
  /** A file sent as it is (an import), instead of a JSON body. */
  upload?: { file: Blob; type: string };
  headers?: Record<string, string>;
  keepalive?: boolean;
};

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * One JSON request to the API. Resolves with the body (undefined for 204);
 * rejects only with ApiError, so callers branch on status and problem type.
 */
export async function api<T>(method: string, path: string, options: Options = {}, retried = false): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json', ...options.headers };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.upload) headers['Content-Type'] = options.upload.type;
  const csrf = currentSession()?.csrf_token;
  if (UNSAFE.has(method) && csrf) headers['X-CSRF-Token'] = csrf;

  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: options.upload ? options.upload.file : options.body === undefined ? null : JSON.stringify(options.body),
      credentials: 'same-origin',
      keepalive: options.keepalive ?? false,
    });
  } catch {
    throw new ApiError(0, null, null, null);
  }
  const requestId = res.headers.get('X-Request-Id');
  if (res.ok) {
    if (res.status === 204) return undefined as T;
    try {
      return (await res.json()) as T;
    } catch {
      throw new ApiError(502, { detail: 'The server sent an answer this page cannot read.' }, null, requestId);
    }
  }
  const problem = (await res.json().catch(() => null)) as Problem | null;
  const error = new ApiError(res.status, problem, parseRetryAfter(res.headers.get('Retry-After')), requestId);
  if (!retried && error.status === 403 && error.code.startsWith('csrf')) return recoverCsrf(error, method, path, options);
  throw error;
}

// A log-in in another tab replaces the shared cookie, so this page's token
// goes stale. Taking the new one is safe only for the same user: otherwise
// the retried change would land in someone else's list.
async function recoverCsrf<T>(error: ApiError, method: string, path: string, options: Options): Promise<T> {
  const before = currentSession();
  const fresh = await api<SessionInfo>('GET', '/api/session', {}, true);
  if (!before || fresh.user.id !== before.user.id) throw error;
  setSession(fresh);
  return api<T>(method, path, options, true);
}
