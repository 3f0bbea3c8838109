import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pg from 'pg';
import { ndjson, readEvents, waitForJob, type JobBody } from '../helpers/jobs';
import { jobWorker, pm2, restartPostgres, sleep, stack, stackUser } from '../helpers/stack';

type User = { auth: string };

const importFile = (u: User, body: string, headers: Record<string, string> = {}) =>
  fetch(`${stack.http}/api/todos/import`, {
    method: 'POST',
    headers: { authorization: u.auth, 'content-type': 'application/x-ndjson', ...headers },
    body,
  });

const getJob = async (u: User, id: string): Promise<JobBody> => {
  const res = await fetch(`${stack.http}/api/jobs/${id}`, { headers: { authorization: u.auth } });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as JobBody;
};

async function startImport(u: User, body: string, headers?: Record<string, string>): Promise<JobBody> {
  const res = await importFile(u, body, headers);
  assert.equal(res.status, 202, await res.clone().text());
  const job = (await res.json()) as JobBody;
  assert.equal(res.headers.get('location'), `/api/jobs/${job.id}`);
  return job;
}

/** A 40,000-line import that has committed its first batch: the fault tests strike then. */
async function importUnderWay(u: User, tag: string): Promise<JobBody> {
  const job = await startImport(u, ndjson(40_000, tag));
  await waitForJob(
    () => getJob(u, job.id),
    (j) => j.progress.done > 0,
    30_000,
  );
  return job;
}

describe('import jobs through nginx, run by the todo-jobs worker', () => {
  // A client of its own each time: the fault tests restart PostgreSQL.
  const todoCount = async (user: User) => {
    const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM todos t JOIN api_tokens k ON k.user_id = t.user_id WHERE k.token_hash = sha256($1)',
        [Buffer.from(user.auth.slice('Bearer '.length))],
      );
      return rows[0]!.n;
    } finally {
      await db.end();
    }
  };

  it('when a token client imports a file, then 202 points at a job that ends with every good line imported and the bad ones reported', async () => {
    const u = await stackUser();
    const good = ndjson(500, 'plain', 3);
    const file = `${good}{"content": ""}\nnot json\n`;
    const accepted = await startImport(u, file);
    assert.ok(['queued', 'running', 'succeeded'].includes(accepted.state));
    const job = await waitForJob(() => getJob(u, accepted.id));
    assert.equal(job.state, 'succeeded', job.error ?? '');
    assert.deepEqual({ created: job.result.created, invalid: job.result.invalid_count }, { created: 500, invalid: 2 });
    assert.deepEqual(
      job.result.invalid.map((l) => l.line),
      [501, 502],
    );
    assert.equal(job.progress.done, job.progress.total);
    const first = (await (await fetch(`${stack.http}/api/todos?limit=2`, { headers: { authorization: u.auth } })).json()) as {
      data: Array<{ content: string; is_finished: boolean }>;
    };
    assert.deepEqual(
      first.data.map((t) => [t.content, t.is_finished]),
      [
        ['plain 499', false],
        ['plain 498', true],
      ],
    );
    // The user's jobs, newest first; another user cannot see this one.
    const list = (await (await fetch(`${stack.http}/api/jobs`, { headers: { authorization: u.auth } })).json()) as { data: JobBody[] };
    assert.equal(list.data[0]?.id, job.id);
    const other = await stackUser();
    assert.equal((await fetch(`${stack.http}/api/jobs/${job.id}`, { headers: { authorization: other.auth } })).status, 404);
    assert.equal((await fetch(`${stack.http}/api/jobs/${job.id}/events`, { headers: { authorization: other.auth } })).status, 404);
  });

  it('when the same file is imported twice, or with the same Idempotency-Key, then nothing is created twice', async () => {
    const u = await stackUser();
    const file = ndjson(300, 'twice');
    const started = await startImport(u, file, { 'idempotency-key': 'import-1' });
    const first = await waitForJob(() => getJob(u, started.id));
    assert.equal(first.result.created, 300);
    const replay = await importFile(u, file, { 'idempotency-key': 'import-1' });
    assert.equal(replay.status, 202);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    assert.equal(((await replay.json()) as JobBody).id, first.id);
    const second = await startImport(u, file);
    const again = await waitForJob(() => getJob(u, second.id));
    assert.deepEqual([again.state, again.result.created, again.result.skipped], ['succeeded', 0, 300]);
    assert.equal(await todoCount(u), 300);
  });

  it('when a browser follows the job events through nginx, then it gets progress events as the import moves, one done event, and an answer at once on reconnect', async () => {
    const u = await stackUser();
    const job = await startImport(u, ndjson(20_000, 'events'));
    const res = await fetch(`${stack.http}/api/jobs/${job.id}/events`, { headers: { authorization: u.auth, accept: 'text/event-stream' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(res.headers.get('content-encoding'), null, 'never compressed: gzip would hold events back');
    const events = await readEvents(res);
    const done = events.filter((e) => e.event === 'done');
    assert.equal(done.length, 1, 'one done event, last');
    assert.equal(events.at(-1)?.event, 'done');
    const final = JSON.parse(done[0]!.data!) as JobBody;
    assert.deepEqual([final.state, final.result.created], ['succeeded', 20_000]);
    const progress = events.filter((e) => e.event === 'progress').map((e) => JSON.parse(e.data!) as JobBody);
    assert.ok(progress.length >= 3, `several progress events (${progress.length})`);
    const dones = progress.map((p) => p.progress.done);
    assert.deepEqual(
      dones,
      [...dones].sort((a, b) => a - b),
      'progress only moves forward',
    );
    assert.ok(
      events.every((e) => e.id),
      'every event has an id',
    );
    // While it ran, no gap between events was longer than 500 ms.
    const running = events.filter((e) => e.event === 'progress' && (JSON.parse(e.data!) as JobBody).state === 'running');
    for (let i = 1; i < running.length; i++)
      assert.ok(running[i]!.at - running[i - 1]!.at <= 600, `gap ${running[i]!.at - running[i - 1]!.at} ms`);

    const started = Date.now();
    const again = await fetch(`${stack.http}/api/jobs/${job.id}/events`, {
      headers: { authorization: u.auth, 'last-event-id': done[0]!.id! },
    });
    const replay = await readEvents(again);
    assert.ok(Date.now() - started < 1_000, 'answered at once');
    assert.deepEqual(
      replay.map((e) => e.event),
      ['done'],
    );
  });

  it('when the job worker is killed with SIGKILL mid-import, then the job is picked up again and every line is imported exactly once', async () => {
    const u = await stackUser();
    const job = await importUnderWay(u, 'killed');
    const victim = await jobWorker();
    process.kill(victim.pid, 'SIGKILL');
    const ended = await waitForJob(() => getJob(u, job.id), undefined, 90_000);
    assert.equal(ended.state, 'succeeded', ended.error ?? '');
    assert.equal(ended.result.created + ended.result.skipped, 40_000);
    assert.equal(await todoCount(u), 40_000);
    const after = await jobWorker();
    assert.notEqual(after.pid, victim.pid, 'PM2 started a new worker');
  });

  it('when PostgreSQL restarts mid-import, then the job retries with backoff and ends with every line imported once', async () => {
    const u = await stackUser();
    const job = await importUnderWay(u, 'restart');
    await restartPostgres();
    // The stack's pools reconnect on their own; wait out the web workers' first failures.
    let ended: JobBody | undefined;
    const deadline = Date.now() + 90_000;
    while (!ended && Date.now() < deadline) {
      const res = await fetch(`${stack.http}/api/jobs/${job.id}`, { headers: { authorization: u.auth } });
      if (res.status === 200) {
        const j = (await res.json()) as JobBody;
        if (j.state === 'succeeded' || j.state === 'failed') ended = j;
      }
      await sleep(200);
    }
    assert.ok(ended, 'the job ended');
    assert.equal(ended.state, 'succeeded', ended.error ?? '');
    assert.equal(await todoCount(u), 40_000);
  });

  it('when the job worker is reloaded mid-import, then the running batch finishes, the job goes back to the queue, and it still ends exactly once', async () => {
    const u = await stackUser();
    const job = await importUnderWay(u, 'reload');
    const before = await jobWorker();
    const reloadStarted = Date.now();
    await pm2('reload', 'todo-jobs');
    assert.ok(Date.now() - reloadStarted < 10_000, 'closed within its kill_timeout');
    assert.notEqual((await jobWorker()).pid, before.pid);
    const ended = await waitForJob(() => getJob(u, job.id), undefined, 90_000);
    assert.equal(ended.state, 'succeeded', ended.error ?? '');
    assert.equal(await todoCount(u), 40_000);
  });
});

describe('an export imported again, through nginx', () => {
  const exported = async (u: User, format: 'ndjson' | 'csv') => {
    const res = await fetch(`${stack.http}/api/todos/export?format=${format}`, {
      headers: { authorization: u.auth, 'accept-encoding': 'gzip' },
    });
    assert.equal(res.status, 200);
    return res.text();
  };
  const list = async (u: User) => {
    const res = await fetch(`${stack.http}/api/todos/export`, { headers: { authorization: u.auth } });
    return (await res.text())
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const t = JSON.parse(l) as { content: string; is_finished: boolean; created_at: string; finished_at: string | null };
        return [t.content, t.is_finished, t.created_at, t.finished_at];
      });
  };
  const run = async (u: User, body: string, type: string) => {
    const res = await fetch(`${stack.http}/api/todos/import`, {
      method: 'POST',
      headers: { authorization: u.auth, 'content-type': type },
      body,
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { id } = (await res.json()) as JobBody;
    return waitForJob(() => getJob(u, id));
  };

  for (const [format, type] of [
    ['ndjson', 'application/x-ndjson'],
    ['csv', 'text/csv'],
  ] as const) {
    it(`when account A's ${format} export is imported into B, then B's list is A's; into A itself, nothing is created`, async () => {
      const a = await stackUser();
      // Some todos created through the API, with formulas, quotes and ties in created_at.
      const tricky = ['=SUM(A1:A2)', '+1', '-2', '@cmd', "'=already quoted", "'apostrophe", 'with "quotes", and a comma', 'line\nbreak'];
      for (const content of tricky) {
        const res = await fetch(`${stack.http}/api/todos`, {
          method: 'POST',
          headers: { authorization: a.auth, 'content-type': 'application/json' },
          body: JSON.stringify({ content }),
        });
        assert.equal(res.status, 201);
      }
      await run(a, ndjson(2_500, `from ${format}`, 4), 'application/x-ndjson');
      const file = await exported(a, format);
      const before = await list(a);
      const own = await run(a, file, type);
      assert.deepEqual([own.state, own.result.created, own.result.invalid_count], ['succeeded', 0, 0]);
      assert.deepEqual(await list(a), before, "A's own export changed nothing");

      const b = await stackUser();
      const copied = await run(b, file, type);
      assert.deepEqual([copied.state, copied.result.created, copied.result.invalid_count], ['succeeded', before.length, 0]);
      assert.deepEqual(await list(b), before, "B's list is A's: content, state, times and order");
    });
  }
});
