import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { readStackEnv } from '../../scripts/stack-env';

const run = promisify(execFile);

/** The test stack brought up by scripts/test.sh (PM2 + nginx on test ports). */
export const stack = {
  http: need('STACK_HTTP_URL'),
  https: need('STACK_HTTPS_URL'),
  /** nginx's internal listener: purges and metrics, loopback only. */
  internal: need('STACK_INTERNAL_URL'),
  dir: need('STACK_DIR'),
  /** In the stack's folder, or a private one under /var/tmp when the service user cannot reach that. */
  logs: readStackEnv(path.join(need('STACK_DIR'), 'stack.env')).LOG_DIR ?? path.join(need('STACK_DIR'), 'logs'),
};

function need(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests/stack through npm test, which starts the stack`);
  return value;
}

export async function pm2(...args: string[]): Promise<string> {
  const { stdout } = await run('npx', ['--no-install', 'pm2', ...args], { maxBuffer: 16 << 20 });
  return stdout;
}

type Pm2Process = { name: string; pid: number; pm2_env: { status: string; restart_time: number } };

export async function apiWorkers(): Promise<Pm2Process[]> {
  const list = JSON.parse(await pm2('jlist')) as Pm2Process[];
  return list.filter((p) => p.name === 'todo-api');
}

/** A new user with an API token, made through nginx. */
export async function stackUser(): Promise<{ token: string; auth: string }> {
  const email = `stack-${randomUUID()}@example.test`;
  const signUp = await fetch(`${stack.http}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery' }),
  });
  if (signUp.status !== 201) throw new Error(`sign-up failed: ${signUp.status} ${await signUp.text()}`);
  const cookie = (signUp.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { csrf_token } = (await signUp.json()) as { csrf_token: string };
  const res = await fetch(`${stack.http}/api/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf_token },
    body: JSON.stringify({ name: 'load' }),
  });
  const { token } = (await res.json()) as { token: string };
  return { token, auth: `Bearer ${token}` };
}

export { wrk } from '../../bench/wrk';

export { sleep };

/** Lines of nginx's JSON access log, after its 1 s buffer has been flushed. */
export async function accessLog(): Promise<Array<Record<string, string | number>>> {
  await sleep(1_200);
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(path.join(stack.logs, 'nginx-access.log'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, string | number>);
}

/** Lines of the workers' JSON log. */
export async function appLog(): Promise<Array<Record<string, unknown>>> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(path.join(stack.logs, 'api.log'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A request through nginx as a signed-in browser: its cookie and CSRF token, a JSON body. */
export const asSession = (s: { cookie: string; csrf: string }, method: string, path: string, body?: unknown) =>
  fetch(`${stack.http}${path}`, {
    method,
    headers: { cookie: s.cookie, 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** A signed-in browser-like user: cookie and CSRF token, made through nginx. */
export async function stackSession(): Promise<{ email: string; password: string; cookie: string; csrf: string; id: string }> {
  const email = `stack-${randomUUID()}@example.test`;
  const password = 'correct horse battery';
  const res = await fetch(`${stack.http}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${await res.text()}`);
  const body = (await res.json()) as { csrf_token: string; user: { id: string } };
  return { email, password, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, csrf: body.csrf_token, id: body.user.id };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Direct clients of the test stack's PostgreSQL and Redis, for looking behind the app. */
export async function stackStores(): Promise<{ db: pg.Client; redis: Redis; cacheRedis: Redis; close: () => Promise<void> }> {
  const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await db.connect();
  const redis = new Redis(process.env.REDIS_URL!);
  const cacheRedis = new Redis(process.env.CACHE_REDIS_URL ?? process.env.REDIS_URL!);
  return {
    db,
    redis,
    cacheRedis,
    close: async () => {
      await db.end();
      redis.disconnect();
      cacheRedis.disconnect();
    },
  };
}

/** The test stack's job worker (PM2 app todo-jobs). */
export async function jobWorker(): Promise<Pm2Process> {
  const list = JSON.parse(await pm2('jlist')) as Pm2Process[];
  const worker = list.find((p) => p.name === 'todo-jobs');
  if (!worker) throw new Error('todo-jobs is not in pm2 jlist');
  return worker;
}

/** Restarts the test PostgreSQL (fast shutdown: open connections are cut). */
export async function restartPostgres(): Promise<void> {
  if (!process.env.TEST_PG_DIR) throw new Error('TEST_PG_DIR is not set: the test PostgreSQL is not a private one');
  await run(
    'bash',
    ['-c', 'source scripts/lib.sh && as_postgres "$(pg_bindir)/pg_ctl" -D "$(pg_datadir "$TEST_PG_DIR")" -m fast -w restart >/dev/null'],
    {
      cwd: path.join(__dirname, '..', '..'),
    },
  );
}
