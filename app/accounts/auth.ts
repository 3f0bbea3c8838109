import type { Request, RequestHandler } from 'express';
import { parse as parseCookies } from 'cookie';
import type { Stamp } from '../cache';
import type { Deps } from '../deps';
import { AppError, forbidden, unauthorized } from '../errors';
import { isSafeMethod } from '../http-methods';
import { BEARER_TOKEN } from '../nginx-contract';
import * as queries from './queries';
import { digest, sameSecret } from './secrets';

export type Auth =
  | { kind: 'session'; userId: string; sessionHash: Buffer; csrfToken: string }
  // `stamp`: the credential cache entry the token was checked against (none
  // when Redis was away); a revocation invalidates it.
  | { kind: 'token'; userId: string; tokenId: string; stamp?: Stamp };

declare module 'express-serve-static-core' {
  interface Request {
    auth?: Auth;
    authError?: AppError;
    /** The SHA-256 of a well-formed API token in the request, valid or not (nginx keys its copies by it). */
    tokenDigest?: Buffer;
  }
}

/**
 * The session cookie: over HTTPS it is `__Host-sid`, which browsers accept
 * only with Secure, Path=/ and no Domain, so no other host and no plain-HTTP
 * page can set or overwrite it; over plain HTTP (a local stack) it is `sid`.
 */
export const sessionCookieName = (secure: boolean) => (secure ? '__Host-sid' : 'sid');
/** Whether this request's session cookie is the Secure one (COOKIE_SECURE, else the request's scheme). */
export const secureCookie = (deps: Pick<Deps, 'config'>, req: Pick<Request, 'secure'>) => deps.config.cookieSecure ?? req.secure;
/** This request's session cookie name. */
export const sessionCookieOf = (deps: Pick<Deps, 'config'>, req: Pick<Request, 'secure'>) => sessionCookieName(secureCookie(deps, req));
const TOUCH_EVERY_MS = 60_000;

// What a credential resolves to, cached in Redis under its digest (never the
// secret). Log-out and revocation clear the entry before they answer.
type SessionInfo = { userId: string; csrfToken: string; expiresAt: number };
type TokenInfo = { userId: string; tokenId: string };

export const authCacheKey = (secretDigest: Buffer) => `auth:${secretDigest.toString('base64url')}`;

const badToken = (detail: string) => unauthorized(detail, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });

/**
 * Remembers when this worker last recorded each token's use, so a use is
 * recorded at most once per `windowMs`. An entry older than the window
 * decides nothing (the next use is recorded anyway), so it is dropped; and
 * whatever the traffic, at most `max` entries are kept, the oldest going
 * first: a token forgotten early is recorded again a little sooner, which
 * touchToken's own once-a-minute condition absorbs.
 */
export function touchThrottle(windowMs: number, max: number) {
  // Insertion order is recording order: the oldest entries come first.
  const recorded = new Map<string, number>();
  return {
    /** Whether a use of `id` at `now` is to be recorded; if so, it counts as recorded. */
    due(id: string, now: number): boolean {
      for (const [key, at] of recorded) {
        if (now - at <= windowMs) break;
        recorded.delete(key);
      }
      if (recorded.has(id)) return false;
      if (recorded.size >= max) recorded.delete(recorded.keys().next().value!);
      recorded.set(id, now);
      return true;
    },
    get size() {
      return recorded.size;
    },
  };
}

// Last use of a token is recorded at most once a minute per worker. 10,000
// entries take under 1 MB; more tokens than that used within a minute on one
// worker only cost an extra (guarded) UPDATE each.
const lastTouched = touchThrottle(TOUCH_EVERY_MS, 10_000);

async function fromToken(deps: Deps, hash: Buffer): Promise<Auth> {
  const { value, stamp } = await deps.cache.get<TokenInfo>(authCacheKey(hash), 'token', async () => {
    const row = await queries.findToken(deps.db, hash);
    return row && { userId: row.user_id, tokenId: row.id };
  });
  if (!value) throw badToken('This API token is not valid; it may have been revoked.');
  if (lastTouched.due(value.tokenId, performance.now())) {
    queries.touchToken(deps.db, value.tokenId).catch((err: unknown) => deps.log.warn({ err }, 'could not record token use'));
  }
  return { kind: 'token', ...value, ...(stamp && { stamp }) };
}

async function fromCookie(deps: Deps, sid: string): Promise<Auth | undefined> {
  const hash = digest(sid);
  const { value } = await deps.cache.get<SessionInfo>(authCacheKey(hash), 'session', async () => {
    const row = await queries.findSession(deps.db, hash);
    return row && { userId: row.user_id, csrfToken: row.csrf_token, expiresAt: row.expires_at.getTime() };
  });
  if (!value || value.expiresAt <= Date.now()) return undefined;
  return { kind: 'session', userId: value.userId, sessionHash: hash, csrfToken: value.csrfToken };
}

export const sessionIdOf = (deps: Pick<Deps, 'config'>, req: Pick<Request, 'headers' | 'secure'>): string | undefined => {
  const header = req.headers.cookie;
  return header ? parseCookies(header)[sessionCookieOf(deps, req)] : undefined;
};

/**
 * Who is calling: a bearer token wins over a cookie; a bad token is a 401
 * (raised by refuseBadCredentials, after the general limit counted it), a
 * stale cookie is simply no session.
 */
export function authenticate(deps: Deps): RequestHandler {
  return async (req, _res, next) => {
    const header = req.headers.authorization;
    try {
      if (header !== undefined) {
        const token = BEARER_TOKEN.exec(header)?.[1];
        if (!token) throw badToken('The Authorization header must be "Bearer <API token>".');
        req.tokenDigest = digest(token);
        req.auth = await fromToken(deps, req.tokenDigest);
      } else {
        const sid = sessionIdOf(deps, req);
        req.auth = sid ? await fromCookie(deps, sid) : undefined;
      }
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 401) throw err;
      req.authError = err;
    }
    next();
  };
}

export const refuseBadCredentials: RequestHandler = (req, _res, next) => {
  if (req.authError) throw req.authError;
  next();
};

/**
 * The route needs a user. Browsers authenticate with a cookie the browser
 * attaches by itself, so their unsafe requests must also prove they come from
 * our page by echoing the session's CSRF token.
 */
export const requireUser: RequestHandler = (req, _res, next) => {
  const auth = req.auth;
  if (!auth) {
    throw unauthorized('Log in, or send an API token as "Authorization: Bearer <token>".', {
      'WWW-Authenticate': 'Bearer realm="todo-stack"',
    });
  }
  if (auth.kind === 'session' && !isSafeMethod(req.method)) {
    const sent = req.get('X-CSRF-Token');
    if (!sent) throw forbidden('csrf-missing', "Send the session's CSRF token in the X-CSRF-Token header.");
    if (!sameSecret(sent, auth.csrfToken)) throw forbidden('csrf-mismatch', 'The X-CSRF-Token header does not match this session.');
  }
  next();
};

/** The authenticated user's id; only valid behind requireUser. */
export function userIdOf(req: Request): string {
  if (!req.auth) throw unauthorized('Authentication required.');
  return req.auth.userId;
}

/** Whether `origin` is this site's as the browser sees it: scheme and host from a trusted proxy (trust proxy), else the request's own. */
function isOwnOrigin(req: Request, origin: string): boolean {
  const own = `${req.protocol}://${req.host}`;
  return URL.canParse(origin) && URL.canParse(own) && new URL(origin).origin === new URL(own).origin;
}

/**
 * Log-in and sign-up set the session cookie, so a page elsewhere must not be
 * able to send them (login CSRF), nor spend an owner's failed log-ins from its
 * visitors' browsers: app.ts runs this before any limit counts a request.
 * Browsers say where a request comes from, in Sec-Fetch-Site and, on every
 * POST, in Origin. A form body must show it comes from this origin, since any
 * page can post a form; a JSON body from elsewhere needs a CORS preflight that
 * is never granted here, so API clients may send neither header.
 */
export const sameOriginOnly: RequestHandler = (req, _res, next) => {
  const site = req.get('Sec-Fetch-Site');
  const origin = req.get('Origin');
  if ((site !== undefined && site !== 'same-origin' && site !== 'none') || (origin !== undefined && !isOwnOrigin(req, origin))) {
    throw forbidden('cross-site', "Log-in and sign-up must be sent from this site's own pages.");
  }
  if (req.is('application/x-www-form-urlencoded') && origin === undefined && site !== 'same-origin') {
    throw forbidden('cross-site', "A log-in or sign-up form must carry this site's Origin header; API clients send JSON.");
  }
  next();
};
