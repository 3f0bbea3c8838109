// npm run bench: brings the stack up on the run command's ports (general rate
// limit off), seeds the benchmark user with 10,000 todos, and drives each case
// through nginx with wrk, next to nginx serving case A's bytes as a file (F).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { encodeCursor } from '../app/todos/cursor';
import { cpuShare, snapshot } from './cpu';
import { report, type CaseResult } from './report';
import { wrk, type WrkOptions } from './wrk';

const ROOT = path.resolve(__dirname, '..');
const STACK_DIR = path.join(ROOT, '.data', 'run');
const BASE = `http://127.0.0.1:${process.env.HTTP_PORT ?? '8080'}`;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 2;
const EMAIL = 'bench@todo-stack.test';
const SLUG = 'bench';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const sh = (cmd: string, args: string[], env: Record<string, string> = {}) =>
  execFileSync(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] }).toString();

function stackEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of readFileSync(path.join(STACK_DIR, 'stack.env'), 'utf8').split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

async function api(token: string, method: string, url: string, body?: unknown) {
  const res = await fetch(`${BASE}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

async function main(): Promise<void> {
  const started = Date.now();
  console.error('bench: bringing the stack up (general rate limit off for the benchmark user)');
  sh('bash', ['scripts/stack.sh', 'up'], { RATE_LIMIT_PER_MINUTE: '0' });
  const env = stackEnv();
  const db = new pg.Client({ connectionString: env.DATABASE_URL });
  await db.connect();

  // The benchmark user: 10,000 todos, a token kept between runs, a public slug.
  const tokenFile = path.join(STACK_DIR, 'bench.token');
  let token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : '';
  const seedArgs = ['--no-install', 'tsx', 'app/cli/seed.ts', '--email', EMAIL, '--todos', '10000'];
  if (!token || (await api(token, 'GET', '/api/me')).status !== 200) seedArgs.push('--token', 'bench');
  const printed = sh('npx', seedArgs, { DATABASE_URL: env.DATABASE_URL! }).trim();
  if (printed) writeFileSync(tokenFile, (token = printed), { mode: 0o600 });
  await api(token, 'PATCH', '/api/me', { public_slug: SLUG });
  // Earlier runs' creates would make the list longer than 10,000.
  await db.query(`DELETE FROM todos WHERE user_id = (SELECT id FROM users WHERE email = $1) AND content NOT LIKE 'Seeded todo #%'`, [EMAIL]);
  await db.query('ANALYZE todos');
  const { rows: [deep] } = await db.query<{ created_at: Date; id: string }>(
    `SELECT created_at, id FROM todos WHERE user_id = (SELECT id FROM users WHERE email = $1)
      ORDER BY created_at DESC, id DESC OFFSET 8999 LIMIT 1`, [EMAIL]);
  const deepCursor = encodeCursor({ createdAt: deep!.created_at, id: deep!.id });

  // F: the exact bytes of case A's body, as a static file nginx serves.
  const bodyA = (await api(token, 'GET', '/api/todos')).text;
  const ceilingDir = path.join(ROOT, 'dist', 'web', '_bench');
  mkdirSync(ceilingDir, { recursive: true });
  writeFileSync(path.join(ceilingDir, 'a.json'), bodyA);

  const auth = [`Authorization: Bearer ${token}`];
  const runId = String(Date.now());
  const cases: Array<{ id: string; name: string; options: WrkOptions }> = [];
  const add = (id: string, name: string, options: Omit<WrkOptions, 'seconds'>) => cases.push({ id, name, options: { ...options, seconds: SECONDS } });
  for (const c of [100, 1000]) {
    add('F', `ceiling: nginx static file, ${c} conns`, { url: `${BASE}/_bench/a.json`, connections: c });
    add('A', `cached first page, bearer, ${c} conns`, { url: `${BASE}/api/todos`, connections: c, headers: auth });
    add('B-json', `public JSON via edge cache, ${c} conns`, { url: `${BASE}/api/public/${SLUG}/todos`, connections: c });
    add('B-html', `public HTML via edge cache, ${c} conns`, { url: `${BASE}/u/${SLUG}`, connections: c });
  }
  add('C-1', 'uncached page 1, 100 conns', { url: `${BASE}/api/todos?start=0`, connections: 100, headers: auth });
  add('C-9000', 'page 9,000 deep by cursor, 100 conns', { url: `${BASE}/api/todos?cursor=${deepCursor}`, connections: 100, headers: auth });
  add('D', 'create, 100 conns', { url: BASE, connections: 100, script: path.join(__dirname, 'create.lua'), env: { TOKEN: token, RUN_ID: runId } });
  add('E', 'mixed 90% read / 10% write, 100 conns', { url: BASE, connections: 100, script: path.join(__dirname, 'mixed.lua'), env: { TOKEN: token } });

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
      const { rows: [n] } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM todos WHERE content LIKE $1', [`bench-${runId}-%`]);
      result.verified = { acknowledged: run.extra.acked ?? NaN, inDatabase: n!.n };
    }
    console.error(`bench: ${c.id} ${c.name}: ${Math.round(run.rps)} req/s, p99 ${run.p99.toFixed(2)} ms`);
    results.push(result);
  }

  const rss = (JSON.parse(sh('npx', ['--no-install', 'pm2', 'jlist'])) as Array<{ name: string; pid: number; monit: { memory: number } }>)
    .filter((p) => p.name === 'todo-api').map((p) => Math.round(p.monit.memory / 2 ** 20));
  rmSync(ceilingDir, { recursive: true, force: true });
  await db.end();

  const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  const { markdown, json } = report(results, { machine, rssMb: rss, seconds: SECONDS, totalSeconds: Math.round((Date.now() - started) / 1000) });
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
