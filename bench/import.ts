// The import case: a new user uploads 100,000 NDJSON lines through nginx and
// the job worker imports them; timed from the POST to the job's end as the
// user sees it (GET /api/jobs/:id), so queueing, parsing, the batches and
// every "list changed" are in it. Three runs, each into a new user; the
// median is reported.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

export const IMPORT_LINES = 100_000;
const RUNS = 3;

export type ImportResult = { lines: number; seconds: number; linesPerSecond: number; created: number };

function file(): string {
  const start = Date.UTC(2024, 0, 1);
  const lines: string[] = [];
  for (let i = IMPORT_LINES - 1; i >= 0; i--) {
    lines.push(
      JSON.stringify({ content: `imported todo ${i}`, is_finished: i % 4 === 0, created_at: new Date(start + i * 1000).toISOString() }),
    );
  }
  return `${lines.join('\n')}\n`;
}

async function newUser(base: string): Promise<string> {
  const signUp = await fetch(`${base}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `import-${randomBytes(6).toString('hex')}@todo-stack.test`,
      password: randomBytes(18).toString('base64url'),
    }),
  });
  if (signUp.status !== 201) throw new Error(`bench: import sign-up failed: ${signUp.status}`);
  const cookie = (signUp.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { csrf_token } = (await signUp.json()) as { csrf_token: string };
  const res = await fetch(`${base}/api/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf_token },
    body: JSON.stringify({ name: 'import' }),
  });
  return ((await res.json()) as { token: string }).token;
}

async function once(base: string, body: string): Promise<ImportResult> {
  const token = await newUser(base);
  const auth = { authorization: `Bearer ${token}` };
  const started = performance.now();
  const res = await fetch(`${base}/api/todos/import`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/x-ndjson' },
    body,
  });
  if (res.status !== 202) throw new Error(`bench: import refused: ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  for (;;) {
    const job = (await (await fetch(`${base}/api/jobs/${id}`, { headers: auth })).json()) as {
      state: string;
      result: { created: number };
      error: string;
    };
    if (job.state === 'failed') throw new Error(`bench: import failed: ${job.error}`);
    if (job.state === 'succeeded') {
      const seconds = (performance.now() - started) / 1000;
      return { lines: IMPORT_LINES, seconds, linesPerSecond: Math.round(IMPORT_LINES / seconds), created: job.result.created };
    }
    await sleep(50);
  }
}

export async function importCase(base: string): Promise<ImportResult> {
  const body = file();
  const runs: ImportResult[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once(base, body));
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor(RUNS / 2)]!;
}

export const importNote = (r: ImportResult) =>
  `Import: ${r.lines.toLocaleString('en-US')} NDJSON lines through nginx and the job worker in ${r.seconds.toFixed(2)} s, ` +
  `${r.linesPerSecond.toLocaleString('en-US')} lines/s from the POST to the job's end (${r.created.toLocaleString('en-US')} created; median of ${RUNS}, each into a new user).`;
