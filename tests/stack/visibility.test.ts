import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import { sleep, stack, stackUser } from '../helpers/stack';

const root = path.join(__dirname, '..', '..');
const scrape = async () => (await fetch(`${stack.internal}/metrics`)).text();

/** The series of a scrape: `name{labels}` of every sample line. */
const seriesOf = (text: string) =>
  text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.slice(0, l.lastIndexOf(' ')));

/** The sum of a metric's samples whose labels include `match` (label="value" pairs). */
function total(text: string, name: string, ...match: string[]): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && match.every((m) => l.includes(m)))
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

/** Scrapes until `done` holds (each process publishes every 5 s). */
async function scrapeUntil(done: (text: string) => boolean, what: string): Promise<string> {
  for (let i = 0; i < 60; i++) {
    const text = await scrape();
    if (done(text)) return text;
    await sleep(250);
  }
  assert.fail(`the scrape never showed ${what}`);
}

function promtool(args: string[], input: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
    child.stdin.end(input);
  });
}

/** A GET from another loopback address than 127.0.0.1, which nginx's internal listener refuses. */
function statusFrom(localAddress: string, url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { localAddress }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

// Requests with ids and paths no route knows, each kind a route template
// (or "unmatched") whatever the id: only the counts may change.
const kinds = (auth: string, id: string) => [
  fetch(`${stack.http}/api/todos/${randomUUID()}`, { headers: { authorization: auth } }),
  fetch(`${stack.http}/api/todos/${id}`, { headers: { authorization: auth } }),
  fetch(`${stack.http}/api/nothing/${id}`, { headers: { authorization: auth } }),
  fetch(`${stack.http}/u/nobody-${id}`),
];

async function sendMany(auth: string, n: number, ids: string[]): Promise<void> {
  for (let i = 0; i < n; i += 25) {
    await Promise.all(
      Array.from({ length: Math.min(25, n - i) }, async () => {
        const id = `id${randomUUID().replaceAll('-', '').slice(0, 12)}`;
        ids.push(id);
        for (const res of await Promise.all(kinds(auth, id))) await res.arrayBuffer();
      }),
    );
  }
}

describe('metrics, through nginx’s internal listener', () => {
  let auth: string;
  before(async () => {
    ({ auth } = await stackUser());
    await fetch(`${stack.http}/api/todos`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'seen in the metrics' }),
    });
    for (let i = 0; i < 4; i++) await (await fetch(`${stack.http}/api/todos?limit=7`, { headers: { authorization: auth } })).arrayBuffer();
    // A write purges the copies nginx was let keep.
    await fetch(`${stack.http}/api/todos`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'and purged' }),
    });
  });

  it('when the stack is scraped, then promtool finds nothing wrong and every process reports, apart, with its build', async () => {
    const text = await scrapeUntil((t) => /metrics_workers_reporting 3/.test(t) && /app_cache_requests_total\{/.test(t), 'every process');
    const { code, out } = await promtool(['check', 'metrics'], text);
    assert.equal(code, 0, `promtool check metrics:\n${out}`);

    const workers = new Set([...text.matchAll(/^process_resident_memory_bytes\{worker="([^"]+)"\}/gm)].map((m) => m[1]));
    assert.equal(workers.size, 3, `one RSS per process: ${[...workers].join(', ')}`);
    assert.ok([...workers].some((w) => w!.startsWith('todo-jobs-')));
    const { stdout } = await promisify(execFile)('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root });
    const builds = [...text.matchAll(/^todo_stack_build_info\{version="([^"]+)",commit="([^"]+)",worker="[^"]+"\} 1$/gm)];
    assert.equal(builds.length, 3, 'every process says what it runs');
    for (const [, , commit] of builds) assert.ok(commit!.startsWith(stdout.trim()), `commit ${commit} is the checkout's`);

    const timed = text
      .split('\n')
      .filter((l) => l.startsWith('http_request_duration_seconds_count'))
      .join('\n');
    assert.match(
      text,
      /^http_request_duration_seconds_bucket\{le="0.1",method="GET",route="\/api\/todos\/",worker="todo-api-\d+"\} \d+$/m,
      timed,
    );
    for (const name of [
      'http_requests_total{method="POST",route="/api/todos/",status="201"',
      'pg_query_duration_seconds_count{query=',
      'pg_pool_connections{state="waiting"',
      'app_cache_requests_total{cache="todos",result="MISS"',
      'redis_breaker_open{redis="cache"',
      'edge_copy_admissions_total{outcome=',
      'edge_purges_total{outcome=',
      'jobs_queue_jobs{queue="imports",state="waiting"}',
      'nodejs_eventloop_lag_p99_seconds{worker=',
      'nodejs_gc_duration_seconds_bucket{',
      'nodejs_heap_size_used_bytes{worker=',
      'health_ready{worker=',
      'data_folder_bytes{state="free"}',
    ]) {
      assert.ok(text.includes(name), `${name} is in the scrape`);
    }
  });

  it('when 1,000 distinct ids and unknown paths go through nginx, then no new series appear and no id is in a label', async () => {
    // Every kind of request once per worker first (nginx alternates), so its series exist.
    await sendMany(auth, 20, []);
    // The series a path or an id could have leaked into. (Others come and go
    // with time, not with requests: a cache entry going stale, a GC kind.)
    const affected = (t: string) => seriesOf(t).filter((s) => s.startsWith('http_'));
    const countUnknown = (t: string) => total(t, 'http_requests_total', 'route="unmatched"');
    await scrapeUntil((t) => countUnknown(t) >= 20, 'the warm-up');
    // Counts of what comes next, once all of it is published.
    await sleep(5_500);
    let text = await scrape();
    const before = affected(text);
    const unknownBefore = countUnknown(text);

    const ids: string[] = [];
    await sendMany(auth, 250, ids);
    assert.equal(ids.length, 250);
    text = await scrapeUntil((t) => countUnknown(t) >= unknownBefore + 250, 'the 1,000 requests');
    const after = affected(text);
    const added = after.filter((s) => !before.includes(s));
    assert.deepEqual(added, [], 'no series added by the requests');
    assert.equal(after.length, before.length);
    for (const id of ids) assert.ok(!text.includes(id), `id ${id} is not in the scrape`);
    const lines = text
      .split('\n')
      .filter((l) => l.startsWith('http_requests_total{'))
      .join('\n');
    assert.ok(total(text, 'http_requests_total', 'route="/u/:slug"') >= 250, lines);
    assert.ok(total(text, 'http_requests_total', 'route="/api/todos/:id"') >= 500, lines);
  });

  it('when the rules and the dashboard name metrics, then every one is in a real scrape', async () => {
    const text = await scrape();
    // Series, and families declared without a sample yet (a counter of errors that never happened).
    const names = new Set([
      ...seriesOf(text).map((s) => s.replace(/\{.*$/, '')),
      ...[...text.matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]!),
    ]);
    const dir = path.join(root, 'ops');
    const files = [
      ...(await readdir(path.join(dir, 'prometheus'))).filter((f) => f.endsWith('.yml')).map((f) => path.join(dir, 'prometheus', f)),
      ...(await readdir(path.join(dir, 'grafana'))).filter((f) => f.endsWith('.json')).map((f) => path.join(dir, 'grafana', f)),
    ];
    const used = new Set<string>();
    for (const file of files) {
      const body = await readFile(file, 'utf8');
      if (file.endsWith('.json')) JSON.parse(body); // well-formed
      const exprs = file.endsWith('.json')
        ? [...body.matchAll(/"expr": "((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string)
        : [...body.matchAll(/^\s*expr: (.*(?:\n\s{8,}.*)*)/gm)].map((m) => m[1]!);
      for (const expr of exprs) {
        for (const m of expr
          .replace(/"[^"]*"/g, '""')
          .matchAll(/\b([a-z_]+_(?:total|seconds|bytes|jobs|info|open|ready|connections|reporting)(?:_bucket|_count|_sum)?)\b/g)) {
          used.add(m[1]!);
        }
      }
    }
    assert.ok(used.size >= 10, `the rules and dashboard use metrics: ${[...used].join(', ')}`);
    const missing = [...used].filter((n) => !names.has(n));
    assert.deepEqual(missing, [], 'every metric the rules and dashboard use is scraped');
  });
});

describe('the operator health endpoint', () => {
  it('when asked on the internal listener, then it reports each dependency, the pool, the queues, the build and the uptime', async () => {
    const res = await fetch(`${stack.internal}/health/details`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as Record<string, unknown> & {
      dependencies: Record<string, { status: string; latency_ms: number }>;
      pool: Record<string, number>;
      queues: Record<string, Record<string, number>> | null;
    };
    assert.equal(body.ready, true);
    for (const dep of ['postgres', 'redis', 'cache_redis']) {
      assert.equal(body.dependencies[dep]?.status, 'up', dep);
      assert.equal(typeof body.dependencies[dep]?.latency_ms, 'number', dep);
    }
    assert.deepEqual(Object.keys(body.pool).sort(), ['idle', 'total', 'waiting']);
    assert.equal(typeof body.queues?.imports?.waiting, 'number', 'queue depths, from the job worker');
    assert.match(String(body.version), /^\d+\.\d+\.\d+/);
    assert.match(String(body.commit), /^[0-9a-f]{12}/);
    assert.match(String(body.worker), /^todo-api-\d+$/);
    assert.ok(typeof body.uptime_seconds === 'number' && body.uptime_seconds >= 0);
    assert.equal((body.workers_reporting as string[]).length, 3);
  });

  it('when asked on the public listener or from another address, then it is not there', async () => {
    const pub = await fetch(`${stack.http}/health/details`);
    assert.equal(pub.status, 404);
    assert.doesNotMatch(await pub.text(), /latency_ms/);
    assert.equal(await statusFrom('127.0.0.2', `${stack.internal}/health/details`), 403);
    // Load balancers' readiness is as it was.
    const ready = (await (await fetch(`${stack.http}/health/ready`)).json()) as Record<string, unknown>;
    assert.deepEqual(ready, { ok: true, postgres: 'up', redis: 'up' });
  });
});
