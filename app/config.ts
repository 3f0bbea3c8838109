import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * The scrypt cost of new password hashes (r=8). OWASP's Password Storage Cheat
 * Sheet asks for N=2^17, p=1 (128 MiB per hash) or an equal cost with less
 * memory, among them N=2^15, p=3 (32 MiB). Measured on this 2-core machine
 * (npx tsx bench/scrypt.ts): 2^17 p=1 costs ~410 ms of CPU and 128 MiB per
 * hash, and libuv's four threads would hold 512 MiB at once in a worker PM2
 * restarts at 300 MB; 2^15 p=3 costs ~260 ms and 32 MiB, and a log-in through
 * the app takes ~260 ms (p50).
 */
export const DEFAULT_SCRYPT = Object.freeze({ logN: 15, p: 3 });

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: int(0, 65535).default(3000),
  // The internal listener (metrics), on HOST too; 0: none.
  INTERNAL_PORT: int(0, 65535).default(0),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'expected a postgres:// URL' }),
  REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// URL' }),
  // The app cache's own Redis, which may evict: counters, lists of nginx's
  // copies and queues stay in REDIS_URL's, which never does. Unset: REDIS_URL's.
  CACHE_REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// URL' }).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Connections per worker. Workers × PG_POOL_MAX must stay below the
  // server's max_connections with room left for migrations and jobs.
  PG_POOL_MAX: int(1, 200).default(10),
  PG_STATEMENT_TIMEOUT_MS: int(100, 600_000).default(5_000),
  PG_CONNECT_TIMEOUT_MS: int(100, 60_000).default(2_000),
  // How many proxy hops to trust for X-Forwarded-*: 1 behind our nginx, 0 when
  // clients reach the app directly.
  TRUST_PROXY_HOPS: int(0, 10).default(0),
  SESSION_TTL_DAYS: int(1, 365).default(30),
  // New hashes' scrypt cost: log2(N) and p (DEFAULT_SCRYPT above). Hashes
  // made at another cost keep it and still verify.
  PASSWORD_SCRYPT_LOG_N: int(10, 20).default(DEFAULT_SCRYPT.logN),
  PASSWORD_SCRYPT_P: int(1, 16).default(DEFAULT_SCRYPT.p),
  // Forces the Secure flag on the session cookie even when the request did
  // not arrive over HTTPS (set it when TLS ends before a proxy we do not trust).
  COOKIE_SECURE: bool.optional(),
  // How long a stopping worker keeps listening (answering Connection: close)
  // before it closes its socket: nginx's upstream keepalive_timeout, so no
  // pooled connection is closed under nginx's feet.
  SHUTDOWN_DELAY_MS: int(0, 60_000).default(0),
  // App cache: entries are fresh this long (±10% jitter), then served stale
  // while one request rebuilds them, and gone after the hard TTL.
  CACHE_TTL_SECONDS: int(1, 86_400).default(30),
  CACHE_HARD_TTL_SECONDS: int(1, 86_400).default(300),
  // Signs cached values, so an entry written into Redis by anyone else is
  // never served. Shared by every worker (the run command makes one); unset,
  // it is derived from DATABASE_URL and REDIS_URL, whose passwords only
  // the stack knows.
  CACHE_SIGNING_KEY: z.string().min(32).optional(),
  // Requests per minute per client (user, else IP); 0 turns the limit off.
  RATE_LIMIT_PER_MINUTE: int(0, 10_000_000).default(1_200),
  // Per 15 minutes: log-ins and sign-ups per client IP; failed log-ins per
  // e-mail and client IP, and per e-mail from anywhere (the numbers' why is
  // in app/rate-limits.ts).
  LOGIN_LIMIT_PER_IP: int(1, 1_000_000).default(100),
  LOGIN_LIMIT_PER_EMAIL_AND_IP: int(1, 10_000).default(5),
  LOGIN_LIMIT_PER_EMAIL: int(1, 1_000_000).default(100),
  // Sign-ups per client IP per hour.
  SIGNUP_LIMIT_PER_IP: int(1, 1_000_000).default(20),
  // Most a user may have (docs/operations.md#limits-per-user). Tokens: each
  // one's copies at nginx are purged on every write of its owner. Todos: room
  // for the largest list the export is built for (200,000) and more.
  TOKEN_LIMIT_PER_USER: int(1, 100).default(20),
  TODO_LIMIT_PER_USER: int(1, 10_000_000).default(250_000),
  // Where nginx drops a public page from its cache (nginx/sites/todo-stack.conf);
  // unset when no nginx cache is in front.
  // The folder whose file system holds the data (PostgreSQL's, Redis's):
  // its free space is in the metrics (data_folder_bytes). Unset: not reported.
  DATA_DIR: z.string().min(1).optional(),
  EDGE_PURGE_URL: z.url({ protocol: /^https?$/, error: 'expected an http:// URL' }).optional(),
  // How long nginx may answer a token's first page from its cache (purged on
  // every write and revocation; the lifetime bounds a purge that failed).
  // 0: every such request reaches the app. Needs EDGE_PURGE_URL.
  EDGE_PRIVATE_TTL_SECONDS: int(0, 3_600).default(5),
  // The job worker (app/worker.ts): imports run at once per process, and how
  // often the scheduled clean-up runs (once per interval across all of them).
  JOB_CONCURRENCY: int(1, 32).default(2),
  CLEANUP_EVERY_SECONDS: int(1, 86_400).default(3_600),
});

export type Config = Readonly<{
  env: 'development' | 'production' | 'test';
  host: string;
  port: number;
  internalPort: number;
  databaseUrl: string;
  redisUrl: string;
  cacheRedisUrl: string;
  logLevel: string;
  pg: Readonly<{ poolMax: number; statementTimeoutMs: number; connectTimeoutMs: number }>;
  trustProxyHops: number;
  sessionTtlDays: number;
  scrypt: Readonly<{ logN: number; p: number }>;
  cookieSecure: boolean | undefined;
  shutdownDelayMs: number;
  cache: Readonly<{ softTtlMs: number; hardTtlMs: number; jitter: number; signingKey: string }>;
  rateLimits: Readonly<{ perMinute: number; loginPerIp: number; loginPerEmailAndIp: number; loginPerEmail: number; signUpPerIp: number }>;
  perUser: Readonly<{ tokens: number; todos: number }>;
  edgePurgeUrl: string | undefined;
  dataDir: string | undefined;
  edgePrivateTtlSeconds: number;
  jobs: Readonly<{ concurrency: number; cleanupEveryMs: number }>;
}>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return Object.freeze({
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    internalPort: e.INTERNAL_PORT,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    cacheRedisUrl: e.CACHE_REDIS_URL ?? e.REDIS_URL,
    logLevel: e.LOG_LEVEL,
    pg: Object.freeze({
      poolMax: e.PG_POOL_MAX,
      statementTimeoutMs: e.PG_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: e.PG_CONNECT_TIMEOUT_MS,
    }),
    trustProxyHops: e.TRUST_PROXY_HOPS,
    sessionTtlDays: e.SESSION_TTL_DAYS,
    scrypt: Object.freeze({ logN: e.PASSWORD_SCRYPT_LOG_N, p: e.PASSWORD_SCRYPT_P }),
    cookieSecure: e.COOKIE_SECURE,
    shutdownDelayMs: e.SHUTDOWN_DELAY_MS,
    cache: Object.freeze({
      softTtlMs: e.CACHE_TTL_SECONDS * 1000,
      hardTtlMs: Math.max(e.CACHE_HARD_TTL_SECONDS, e.CACHE_TTL_SECONDS) * 1000,
      jitter: 0.1,
      signingKey:
        e.CACHE_SIGNING_KEY ?? createHash('sha256').update(`todo-stack cache\n${e.DATABASE_URL}\n${e.REDIS_URL}`).digest('base64url'),
    }),
    rateLimits: Object.freeze({
      perMinute: e.RATE_LIMIT_PER_MINUTE,
      loginPerIp: e.LOGIN_LIMIT_PER_IP,
      loginPerEmailAndIp: e.LOGIN_LIMIT_PER_EMAIL_AND_IP,
      loginPerEmail: e.LOGIN_LIMIT_PER_EMAIL,
      signUpPerIp: e.SIGNUP_LIMIT_PER_IP,
    }),
    perUser: Object.freeze({ tokens: e.TOKEN_LIMIT_PER_USER, todos: e.TODO_LIMIT_PER_USER }),
    edgePurgeUrl: e.EDGE_PURGE_URL,
    dataDir: e.DATA_DIR,
    edgePrivateTtlSeconds: e.EDGE_PRIVATE_TTL_SECONDS,
    jobs: Object.freeze({ concurrency: e.JOB_CONCURRENCY, cleanupEveryMs: e.CLEANUP_EVERY_SECONDS * 1000 }),
  });
}

/** Throws a ConfigError unless `version` (v24.1.0) meets `engines` (package.json's ">=24"). */
export function checkRuntime(version: string, engines: string): void {
  const min = /^>=(\d+)/.exec(engines)?.[1];
  if (min === undefined) throw new ConfigError(`package.json engines.node must read ">=N", not "${engines}"`);
  if (Number(/^v(\d+)\./.exec(version)?.[1]) < Number(min)) {
    throw new ConfigError(
      `Node.js ${version} is too old: this project needs ${engines} (npm start runs the one it installs in node_modules)`,
    );
  }
}
