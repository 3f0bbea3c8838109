import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type Options } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { Deps } from './deps';
import { AppError } from './errors';

const MINUTE = 60_000;

/** Where a limiter keeps its counters in Redis: `rl:<limiter>:<key>`. */
export const limitKeyPrefix = (limiter: 'general' | 'login-ip' | 'login-email') => `rl:${limiter}:`;
const LOGIN_WINDOW = 15 * MINUTE;

const tooMany = (detail: string, retryAfter: string | undefined) =>
  new AppError({
    status: 429,
    code: 'rate-limited',
    title: 'Too many requests',
    detail,
    retryable: true,
    headers: { 'Retry-After': retryAfter ?? '60' },
  });

/**
 * Counters live in Redis, so every worker counts against the same limit. If
 * Redis is away the breaker answers at once and the limiter lets the request
 * through (fail open): an outage must not lock everyone out. The breaker logs
 * the outage once and counts each pass in redis_fallbacks_total. A script
 * Redis no longer has (NOSCRIPT) is no outage: the store reloads it.
 */
function redisStore(deps: Deps, prefix: string): RedisStore {
  return new RedisStore({
    prefix,
    sendCommand: async (command: string, ...args: string[]) => {
      let noScript: Error | undefined;
      const reply = await deps.breaker.run('rate_limit', (redis) =>
        redis.call(command, ...args).catch((err: Error) => {
          if (!/^NOSCRIPT/.test(err.message)) throw err;
          noScript = err;
          return null;
        }),
      );
      if (noScript) throw noScript;
      if (reply === undefined) throw new Error('redis unavailable');
      return reply as RedisReply;
    },
  });
}

function limiter(deps: Deps, name: Parameters<typeof limitKeyPrefix>[0], options: Partial<Options>): RequestHandler {
  const store = redisStore(deps, limitKeyPrefix(name));
  return rateLimit({
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: name,
    passOnStoreError: true,
    store,
    logger: { warn: (...args) => deps.log.warn({ args }, 'rate limiter'), error: () => undefined },
    handler: (_req, res, next) => {
      next(
        tooMany(
          `Too many requests; retry in ${String(res.getHeader('Retry-After') ?? 'a few')} seconds.`,
          res.getHeader('Retry-After')?.toString(),
        ),
      );
    },
    ...options,
  });
}

/** The general limit: per user when authenticated, else per client IP (trust proxy gives the real one). */
export function generalLimit(deps: Deps): RequestHandler {
  const perMinute = deps.config.rateLimits.perMinute;
  if (perMinute === 0) return (_req, _res, next) => next();
  return limiter(deps, 'general', {
    windowMs: MINUTE,
    limit: perMinute,
    keyGenerator: (req) => (req.auth ? `user:${req.auth.userId}` : `ip:${clientIp(req)}`),
  });
}

/** Against password guessing: log-in and sign-up per IP, log-in failures per e-mail. */
export function loginLimits(deps: Deps): RequestHandler[] {
  const { loginPerIp, loginPerEmail } = deps.config.rateLimits;
  const perIp = limiter(deps, 'login-ip', {
    windowMs: LOGIN_WINDOW,
    limit: loginPerIp,
    keyGenerator: (req) => clientIp(req),
  });
  const perEmail = limiter(deps, 'login-email', {
    windowMs: LOGIN_WINDOW,
    limit: loginPerEmail,
    // A user who keeps logging in successfully is not guessing.
    skipSuccessfulRequests: true,
    skip: (req) => typeof emailOf(req) !== 'string',
    keyGenerator: (req) => String(emailOf(req)).trim().toLowerCase(),
  });
  return [perIp, perEmail];
}

const emailOf = (req: Request): unknown => (req.body as { email?: unknown } | undefined)?.email;
// IPv6 clients are counted per /56, as one household or host usually has one.
const clientIp = (req: Request): string => ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown');
