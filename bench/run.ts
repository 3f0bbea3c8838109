// npm run bench: brings up a private stack of its own (own folder and ports,
// like the tests', general rate limit off), seeds the benchmark user with
// 10,000 todos, and drives each case through nginx with wrk, next to nginx
// serving case A's bytes as a file (F); then a user with 200,000 todos
// exports them (bench/export.ts), and new users import 100,000 lines each
// (bench/import.ts). It removes that stack afterwards, so the
// stack of `npm start` is neither used nor changed.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { encodeCursor } from '../app/todos/cursor';
import { readStackEnv } from '../scripts/stack-env';
import { cpuShare, snapshot } from './cpu';
import { EXPORT_ROWS, exportCase, exportNotes } from './export';
import { importCase, importNote } from './import';
import { report, type CaseResult } from './report';
import { wrk, type WrkOptions } from './wrk';

const ROOT = path.resolve(__dirname, '..');
const STACK_DIR = path.join(ROOT, '.data', 'bench');
const HTTP_PORT = process.env.BENCH_HTTP_PORT ?? '28080';
const BASE = `http://127.0.0.1:${HTTP_PORT}`;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const EMAIL = 'bench@todo-stack.test';
const SLUG = 'bench';
const EXPORT_EMAIL = 'bench-export@todo-stack.test';

// The benchmark's own stack: its own servers (never DATABASE_URL/REDIS_URL),
// folder, ports and PM2 daemon.
const STACK: Record<string, string> = {
  STACK_DIR,
  PM2_HOME: path.join(STACK_DIR, 'pm2'),
  HTTP_PORT,
  HTTPS_PORT: process.env.BENCH_HTTPS_PORT ?? '28443',
  APP_PORT: process.env.BENCH_APP_PORT ?? '23000',
  APP_INTERNAL_PORT: process.env.BENCH_APP_INTERNAL_PORT ?? '23001',
  INTERNAL_HTTP_PORT: process.env.BENCH_INTERNAL_HTTP_PORT ?? '28090',
  PG_PORT: process.env.BENCH_PG_PORT ?? '54349',
  REDIS_PORT: process.env.BENCH_REDIS_PORT ?? '63819',
  CACHE_REDIS_PORT: process.env.BENCH_CACHE_REDIS_PORT ?? '63818',
  RATE_LIMIT_PER_MINUTE: '0',
  DATABASE_URL: '',
  REDIS_URL: '',
  CACHE_REDIS_URL: '',
};

const sh = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  execFileSync(cmd, args, { cwd: ROOT, env: { ...process.env, ...STACK, ...env }, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

async function main(): Promise<void> {
  const started = Date.now();
  console.error(`bench: bringing up its own stack on ${BASE} (${STACK_DIR})`);
  sh('bash', ['scripts/stack.sh', 'destroy']);
  try {
    await run(started);
  } finally {
    console.error('bench: removing its stack');
    sh('bash', ['scripts/stack.sh', 'destroy']);
  }
}

async function run(started: number): Promise<void> {
  sh('bash', ['scripts/stack.sh', 'up']);
  const env = readStackEnv(path.join(STACK_DIR, 'stack.env'));
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();

  // The benchmark user: 10,000 todos, an API token, a public slug, and a
  // password nobody else knows (the stack goes away with the run).
  const password = randomBytes(18).toString('base64url');
  const token = sh(
    'npx',
    ['--no-install', 'tsx', 'app/cli/seed.ts', '--email', EMAIL, '--todos', '10000', `--password=${password}`, '--token', 'bench'],
    { DATABASE_URL: env.DATABASE_URL! },
  ).trim();
  const slug = await fetch(`${BASE}/api/me`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ public_slug: SLUG }),
  });
  if (slug.status !== 200) throw new Error(`bench: could not publish the list: ${slug.status}`);
  const {
    rows: [deep],
  } = await db.query<{ created_at: Date; id: string }>(
    `SELECT created_at, id FROM todos WHERE user_id = (SELECT id FROM users WHERE email = $1)
      ORDER BY created_at DESC, id DESC OFFSET 8999 LIMIT 1`,
    [EMAIL],
  );
  const deepCursor = encodeCursor({ createdAt: deep!.created_at, id: deep!.id });

  // F: the exact bytes of case A's body, as a static file nginx serves.
  const bodyA = await (await fetch(`${BASE}/api/todos`, { headers: { authorization: `Bearer ${token}` } })).text();
  const ceilingDir = path.join(ROOT, 'dist', 'web', '_bench');
  mkdirSync(ceilingDir, { recursive: true });
  writeFileSync(path.join(ceilingDir, 'a.json'), bodyA);

  const auth = [`Authorization: Bearer ${token}`];
  // A browser's first page: the session cookie goes past nginx's caches to the app.
  const login = await fetch(`${BASE}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: EMAIL, password }),
  });
  if (login.status !== 201) throw new Error(`bench log-in failed: ${login.status}`);
  const cookie = [`Cookie: ${(login.headers.get('set-cookie') ?? '').split(';')[0]}`];
  const runId = String(Date.now());
  const cases: Array<{ id: string; name: string; options: WrkOptions }> = [];
  const add = (id: string, name: string, options: Omit<WrkOptions, 'seconds'>) =>
    cases.push({ id, name, options: { ...options, seconds: SECONDS } });
  for (const c of [100, 1000]) {
    add('F', `ceiling: nginx static file, ${c} conns`, { url: `${BASE}/_bench/a.json`, connections: c });
    add('A', `cached first page, bearer, ${c} conns`, { url: `${BASE}/api/todos`, connections: c, headers: auth });
    add('B-json', `public JSON via edge cache, ${c} conns`, { url: `${BASE}/api/public/${SLUG}/todos`, connections: c });
    add('B-html', `public HTML via edge cache, ${c} conns`, { url: `${BASE}/u/${SLUG}`, connections: c });
  }
  add('A-cookie', 'cached first page, session cookie, 100 conns', { url: `${BASE}/api/todos`, connections: 100, headers: cookie });
  add('C-1', 'uncached page 1, 100 conns', { url: `${BASE}/api/todos?start=0`, connections: 100, headers: auth });
  add('C-9000', 'page 9,000 deep by cursor, 100 conns', { url: `${BASE}/api/todos?cursor=${deepCursor}`, connections: 100, headers: auth });
  add('D', 'create, 100 conns', {
    url: BASE,
    connections: 100,
    script: path.join(__dirname, 'create.lua'),
    env: { TOKEN: token, RUN_ID: runId },
  });
  add('E', 'mixed 90% read / 10% write, 100 conns', {
    url: BASE,
    connections: 100,
    script: path.join(__dirname, 'mixed.lua'),
    env: { TOKEN: token },
  });

  const results: CaseResult[] = [];
  for (const c of cases) {
    if (!c.options.script) await wrk({ ...c.options, seconds: WARMUP_SECONDS });
    // CPU is sampled inside the run (wrk itself only exists while it runs).
    const running = wrk(c.options);
    await sleep(1_000);
    const before = snapshot();
    await sleep((SECONDS - 2) * 1_000);
    const cpu = cpuShare(before, snapshot());
    const run = await running;
    const result: CaseResult = { id: c.id, name: c.name, connections: c.options.connections, ...run, cpu };
    if (c.id === 'D') {
      const {
        rows: [n],
      } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM todos WHERE content LIKE $1', [`bench-${runId}-%`]);
      result.verified = { acknowledged: run.extra.acked ?? NaN, inDatabase: n!.n };
    }
    console.error(`bench: ${c.id} ${c.name}: ${Math.round(run.rps)} req/s, p99 ${run.p99.toFixed(2)} ms`);
    results.push(result);
  }

  const rss = (JSON.parse(sh('npx', ['--no-install', 'pm2', 'jlist'])) as Array<{ name: string; pid: number; monit: { memory: number } }>)
    .filter((p) => p.name === 'todo-api')
    .map((p) => Math.round(p.monit.memory / 2 ** 20));
  rmSync(ceilingDir, { recursive: true, force: true });

  // Seeded only now, so the cases above ran on the same database as before.
  const seedArgs = ['--email', EXPORT_EMAIL, '--todos', String(EXPORT_ROWS), `--password=${password}`, '--token', 'export'];
  const exportToken = sh('npx', ['--no-install', 'tsx', 'app/cli/seed.ts', ...seedArgs], { DATABASE_URL: env.DATABASE_URL! }).trim();
  const exports = exportCase(BASE, exportToken);
  for (const line of exportNotes(exports)) console.error(`bench: ${line}`);
  const imports = await importCase(BASE);
  console.error(`bench: ${importNote(imports)}`);
  await db.end();

  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const { markdown, json } = report(results, {
    machine,
    rssMb: rss,
    seconds: SECONDS,
    totalSeconds: Math.round((Date.now() - started) / 1000),
    exports,
    imports,
  });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
  for (const name of [stamp, 'latest']) {
    writeFileSync(path.join(ROOT, 'bench', 'results', `${name}.md`), markdown);
    writeFileSync(path.join(ROOT, 'bench', 'results', `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  }
  console.log(markdown);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
