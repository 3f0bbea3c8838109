import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, MemoryStore, rateLimit, type IncrementResponse, type Options, type Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { Deps } from './deps';
import { AppError } from './errors';

const MINUTE = 60_000;

/** Where a limiter keeps its counters in Redis: `rl:<limiter>:<key>`. */
export const limitKeyPrefix = (limiter: 'general' | 'login-ip' | 'login-email-ip' | 'login-email' | 'signup-ip') => `rl:${limiter}:`;
const LOGIN_WINDOW = 15 * MINUTE;
const SIGN_UP_WINDOW = 60 * MINUTE;

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
 * Redis is away the breaker answers at once; the general limit then lets the
 * request through (fail open: an outage must not lock everyone out), and the
 * log-in limits count in the worker instead (RedisOrLocalStore). The breaker
 * logs the outage once and counts each fallback in redis_fallbacks_total. A
 * script Redis no longer has (NOSCRIPT) is no outage: the store reloads it.
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

/**
 * Password guessing must stay limited while Redis is away, or it would be
 * free exactly then: each worker counts in its own memory meanwhile. With W
 * workers a limit then admits up to W times its number, and what a worker
 * counted alone is forgotten when Redis is back.
 */
class RedisOrLocalStore implements Store {
  readonly prefix: string;
  private readonly local = new MemoryStore();

  constructor(private readonly shared: RedisStore) {
    this.prefix = shared.prefix;
  }

  init(options: Options): Promise<void> {
    this.local.init(options);
    return this.shared.init(options);
  }

  async increment(key: string): Promise<IncrementResponse> {
    try {
      return await this.shared.increment(key);
    } catch {
      return this.local.increment(key);
    }
  }

  async decrement(key: string): Promise<void> {
    await this.shared.decrement(key).catch(() => this.local.decrement(key));
  }

  async resetKey(key: string): Promise<void> {
    await this.shared.resetKey(key).catch(() => this.local.resetKey(key));
  }
}

type WhenRedisIsAway = 'let-through' | 'count-in-worker';

function limiter(deps: Deps, name: Parameters<typeof limitKeyPrefix>[0], options: Partial<Options>, away: WhenRedisIsAway): RequestHandler {
  const shared = redisStore(deps, limitKeyPrefix(name));
  return rateLimit({
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: name,
    passOnStoreError: away === 'let-through',
    store: away === 'let-through' ? shared : new RedisOrLocalStore(shared),
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
  return limiter(
    deps,
    'general',
    {
      windowMs: MINUTE,
      limit: perMinute,
      keyGenerator: (req) => (req.auth ? `user:${req.auth.userId}` : `ip:${clientIp(req)}`),
    },
    'let-through',
  );
}

/**
 * Against password guessing and account discovery, in the order they count (a
 * refusal stops the count there), over 15 minutes unless said:
 * - every log-in and sign-up per client address (LOGIN_LIMIT_PER_IP, 100);
 * - sign-ups per address and hour (SIGNUP_LIMIT_PER_IP, 20): sign-up tells a
 *   registered e-mail apart (409), so this bounds how fast anyone can test
 *   addresses for accounts, 480 a day per address;
 * - failed log-ins per e-mail and address (LOGIN_LIMIT_PER_EMAIL_AND_IP, 5):
 *   the one a guesser meets, and only there;
 * - failed log-ins per e-mail from anywhere (LOGIN_LIMIT_PER_EMAIL, 100): a
 *   ceiling on guessing from many addresses, 100 tries per 15 minutes at one
 *   account. It refuses the owner too, so it is set high: as the limit above
 *   stops an address after 5 failures, reaching 100 takes 20 addresses (IPv6:
 *   /56 prefixes) failing together all the time, where 5 took one.
 * Attempts from other sites never get here (sameOriginOnly, app.ts), so a
 * page cannot spend an owner's failures from its visitors' browsers.
 */
export function accountLimits(deps: Deps): { logIn: RequestHandler[]; signUp: RequestHandler[] } {
  const { loginPerIp, signUpPerIp, loginPerEmailAndIp, loginPerEmail } = deps.config.rateLimits;
  const perIp = limiter(
    deps,
    'login-ip',
    {
      windowMs: LOGIN_WINDOW,
      limit: loginPerIp,
      keyGenerator: (req) => clientIp(req),
    },
    'count-in-worker',
  );
  const signUps = limiter(
    deps,
    'signup-ip',
    { windowMs: SIGN_UP_WINDOW, limit: signUpPerIp, keyGenerator: (req) => clientIp(req) },
    'count-in-worker',
  );
  const failures = {
    windowMs: LOGIN_WINDOW,
    // A user who keeps logging in successfully is not guessing.
    skipSuccessfulRequests: true,
    skip: (req: Request) => emailOf(req) === undefined,
  };
  const perEmailAndIp = limiter(
    deps,
    'login-email-ip',
    {
      ...failures,
      limit: loginPerEmailAndIp,
      // An address never holds "|", so the key reads one way only.
      keyGenerator: (req) => `${clientIp(req)}|${emailOf(req)}`,
    },
    'count-in-worker',
  );
  const perEmail = limiter(
    deps,
    'login-email',
    {
      ...failures,
      limit: loginPerEmail,
      keyGenerator: (req) => String(emailOf(req)),
    },
    'count-in-worker',
  );
  return { logIn: [perIp, perEmailAndIp, perEmail], signUp: [perIp, signUps] };
}

/** The e-mail a log-in is for, as accounts match it; none when it cannot be one (the request is a 422 anyway). */
function emailOf(req: Request): string | undefined {
  const email = (req.body as { email?: unknown } | undefined)?.email;
  if (typeof email !== 'string') return undefined;
  const key = email.trim().toLowerCase();
  return key.length > 0 && key.length <= 254 ? key : undefined;
}

// IPv6 clients are counted per /56, as one household or host usually has one.
const clientIp = (req: Request): string => ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown');
