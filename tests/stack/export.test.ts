import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportBackends, parseCsv, removeUsers, seedMany, untilNoExportBackends } from '../helpers/export';
import { apiWorkers, appLog, asSession, sleep, stack, stackSession, stackStores, stackUser } from '../helpers/stack';
import { assertTodo } from '../helpers/todos';

const ROWS = 200_000;
const MB = 1024 * 1024;

/** A worker's resident memory now and at its peak since the peak was last reset, from the kernel. */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Reads a streamed body line by line; `onFirstLine` runs when the first whole line is in. */
async function readLines(res: Response, onFirstLine: (line: string) => Promise<void>): Promise<{ lines: number; last: string }> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  let lines = 0;
  let last = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending += value;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    if (lines === 0 && parts.length > 0) await onFirstLine(parts[0]!);
    lines += parts.length;
    if (parts.length > 0) last = parts.at(-1)!;
  }
  assert.equal(pending, '', 'the export ends with a whole line');
  return { lines, last };
}

describe('export through nginx: streamed, in constant memory, limited per user', () => {
  let stores: Awaited<ReturnType<typeof stackStores>>;
  let user: { auth: string; id: string };
  before(async () => {
    stores = await stackStores();
    const { auth } = await stackUser();
    const me = (await (await fetch(`${stack.http}/api/me`, { headers: { authorization: auth } })).json()) as { user: { id: string } };
    user = { auth, id: me.user.id };
    const started = performance.now();
    await seedMany(stores.db, user.id, ROWS);
    console.log(`# seeded ${ROWS} todos in ${Math.round(performance.now() - started)} ms`);
  });
  after(async () => {
    await removeUsers(stores.db, [user.id]);
    await stores.close();
  });

  const exportOf = (auth: string, query = '', signal?: AbortSignal) =>
    fetch(`${stack.http}/api/todos/export${query}`, { headers: { authorization: auth }, ...(signal && { signal }) });

  it(`when ${ROWS.toLocaleString('en-US')} todos are exported, then the first line comes while PostgreSQL still reads, every line comes, and no worker's RSS grows by 30 MB`, async () => {
    const workers = await apiWorkers();
    // Resets each worker's peak (VmHWM) to its current RSS.
    for (const w of workers) await writeFile(`/proc/${w.pid}/clear_refs`, '5');
    const before = new Map(await Promise.all(workers.map(async (w) => [w.pid, await memoryOf(w.pid)] as const)));

    const started = performance.now();
    const res = await exportOf(user.auth);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    let firstLineMs = NaN;
    let readingAtFirstLine = NaN;
    const { lines, last } = await readLines(res, async (line) => {
      firstLineMs = performance.now() - started;
      readingAtFirstLine = await exportBackends(stores.db);
      assert.match(assertTodo(JSON.parse(line)).content, new RegExp(`^seeded ${ROWS}$`), 'the newest todo comes first');
    });
    const totalMs = performance.now() - started;
    assert.equal(lines, ROWS);
    assert.equal(JSON.parse(last).content, 'seeded 1');

    const report = [];
    for (const w of workers) {
      const now = await memoryOf(w.pid);
      const was = before.get(w.pid)!;
      report.push({ pid: w.pid, before: was.rss, peak: now.peak, after: now.rss });
    }
    const mb = (n: number) => (n / MB).toFixed(1);
    console.log(
      `# ${ROWS} rows through nginx (content-encoding: ${res.headers.get('content-encoding') ?? 'none'}): first line after ${firstLineMs.toFixed(0)} ms, ` +
        `all after ${totalMs.toFixed(0)} ms (${Math.round(ROWS / (totalMs / 1000))} rows/s)`,
    );
    for (const r of report) console.log(`# worker ${r.pid}: RSS before ${mb(r.before)} MB, peak ${mb(r.peak)} MB, after ${mb(r.after)} MB`);
    assert.equal(readingAtFirstLine, 1, 'PostgreSQL was still reading the list when the first line arrived');
    assert.ok(
      firstLineMs < totalMs / 4,
      `the first line (${firstLineMs.toFixed(0)} ms) came long before the end (${totalMs.toFixed(0)} ms)`,
    );
    for (const r of report) assert.ok(r.peak - r.before < 30 * MB, `worker ${r.pid} grew by ${mb(r.peak - r.before)} MB`);
  });

  it('when the client stops reading, then nginx takes in the rest, so the database is let go long before the client is done', async () => {
    const res = await exportOf(user.auth);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = (await reader.read()).value ?? '';
    let waited = 0;
    while ((await exportBackends(stores.db)) > 0) {
      assert.ok(waited < 15_000, 'the app still held its transaction while the client was not reading');
      await sleep(100);
      waited += 100;
    }
    console.log(`# the app finished reading ${waited} ms into the client's pause`);
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += chunk.value;
    assert.equal(text.split('\n').length - 1, ROWS);
  });

  it('when the client hangs up after the first chunk, then the worker drops its database connection at once', async () => {
    const abort = new AbortController();
    const res = await exportOf(user.auth, '', abort.signal);
    const reader = res.body!.getReader();
    await reader.read();
    assert.equal(await exportBackends(stores.db), 1);
    abort.abort();
    const ms = await untilNoExportBackends(stores.db, 2_000);
    console.log(`# connection gone ${ms.toFixed(0)} ms after the hang-up through nginx`);
  });

  it('when a token client runs two exports, then a third is 429 with Retry-After from every worker, and a new one runs once one of them ends', async () => {
    const held = [new AbortController(), new AbortController()];
    for (const abort of held) {
      const res = await exportOf(user.auth, '', abort.signal);
      assert.equal(res.status, 200);
      await res.body!.getReader().read();
    }
    assert.equal(await stores.redis.zcard(`export:slots:${user.id}`), 2, 'both slots are in the shared Redis');
    const refused = await Promise.all(Array.from({ length: 8 }, () => exportOf(user.auth, '?format=csv')));
    const ids: string[] = [];
    for (const res of refused) {
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(res.headers.get('retry-after'), '5');
      const body = (await res.json()) as { type: string; retryable: boolean; request_id: string };
      assert.equal(body.type, '/problems/too-many-exports');
      assert.equal(body.retryable, true);
      ids.push(body.request_id);
    }
    await sleep(200);
    const pids = new Set((await appLog()).filter((l) => ids.includes(String(l.request_id))).map((l) => l.pid));
    assert.equal(pids.size, 2, 'both workers refused: the count is shared');

    held[0]!.abort();
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i++) {
      await sleep(50);
      const res = await exportOf(user.auth, '?format=csv');
      status = res.status;
      await res.body?.cancel();
    }
    assert.equal(status, 200, 'the ended export gave its slot back');
    held[1]!.abort();
    await untilNoExportBackends(stores.db, 2_000);
  });

  it('when a browser exports with its session cookie, then it gets CSV, and nothing of it is ever kept in nginx caches; without credentials it is a 401 problem, a bad format 422', async () => {
    const s = await stackSession();
    const marker = `marker-${Date.now()}`;
    assert.equal((await asSession(s, 'POST', '/api/todos', { content: `=${marker}` })).status, 201);
    for (let i = 0; i < 2; i++) {
      const res = await asSession(s, 'GET', '/api/todos/export?format=csv');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-disposition'), `attachment; filename="todos-${new Date().toISOString().slice(0, 10)}.csv"`);
      const rows = parseCsv(await res.text());
      assert.deepEqual(
        rows.map((r) => r.content),
        [`=${marker}`],
      );
    }
    const cached = await filesUnder(path.join(stack.dir, 'cache'));
    for (const file of cached) assert.ok(!(await readFile(file)).includes(marker), `${file} holds the export`);

    const anonymous = await fetch(`${stack.http}/api/todos/export`, { headers: { accept: '*/*' } });
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const bad = await exportOf(user.auth, '?format=xlsx');
    assert.equal(bad.status, 422);
    const body = (await bad.json()) as { errors: Array<{ field: string }> };
    assert.deepEqual(
      body.errors.map((e) => e.field),
      ['format'],
    );
  });
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}
