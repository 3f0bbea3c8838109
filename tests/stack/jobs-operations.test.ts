import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { bullConnection, CLEANUP_SCHEDULER, QUEUES } from '../../app/queues';
import { nginxContract } from '../../app/nginx-contract';
import { assertProblemResponse, ndjson, readEvents, waitForJob, type JobBody } from '../helpers/jobs';
import { jobWorker, pm2, sleep, stack, stackSession, stackStores, stackUser } from '../helpers/stack';

describe('the job worker as an admin runs it', () => {
  let stores: Awaited<ReturnType<typeof stackStores>>;
  let maintenance: Queue;
  before(async () => {
    stores = await stackStores();
    maintenance = new Queue(QUEUES.maintenance, { connection: bullConnection(process.env.REDIS_URL!, 'producer') });
  });
  after(async () => {
    await maintenance.close();
    await stores.close();
  });

  it('when an admin lists the apps, then pm2 shows todo-jobs online in fork mode beside the API workers', async () => {
    const list = JSON.parse(await pm2('jlist')) as Array<{ name: string; pm2_env: { status: string; exec_mode: string } }>;
    const jobs = list.filter((p) => p.name === 'todo-jobs');
    assert.equal(jobs.length, 1);
    assert.equal(jobs[0]!.pm2_env.status, 'online');
    assert.equal(jobs[0]!.pm2_env.exec_mode, 'fork_mode');
    assert.ok(list.some((p) => p.name === 'todo-api' && p.pm2_env.exec_mode === 'cluster_mode'));
  });

  it('when the clean-up runs in the job worker, then expired rows are gone, and its schedule is the configured one', async () => {
    const s = await stackSession();
    const hash = createHash('sha256').update(randomBytes(16)).digest();
    await stores.db.query(
      "INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, 'x', now() - interval '1 day')",
      [hash, s.id],
    );
    await stores.db.query(
      "INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES ($1, 'stale', $2, now() - interval '2 days')",
      [s.id, hash],
    );
    const schedulers = await maintenance.getJobSchedulers();
    const cleanup = schedulers.find((j) => j.key === CLEANUP_SCHEDULER);
    assert.ok(cleanup, 'the job worker registered the clean-up schedule');
    assert.equal(cleanup.every, 3_600_000);
    // A run now, as the schedule would make one.
    await maintenance.add('cleanup', { v: 1 }, { removeOnComplete: true });
    const deadline = Date.now() + 20_000;
    let left = 1;
    while (left > 0 && Date.now() < deadline) {
      await sleep(200);
      const { rows } = await stores.db.query<{ n: number }>(
        "SELECT (SELECT count(*) FROM sessions WHERE id_hash = $1) + (SELECT count(*) FROM idempotency_keys WHERE user_id = $2 AND key = 'stale') AS n",
        [hash, s.id],
      );
      left = Number(rows[0]!.n);
    }
    assert.equal(left, 0, 'the expired session and the stale idempotency record were removed');
  });

  it('when the metrics are scraped, then the queue depths and job durations of the job worker are in them', async () => {
    const u = await stackUser();
    const res = await fetch(`${stack.http}/api/todos/import`, {
      method: 'POST',
      headers: { authorization: u.auth, 'content-type': 'application/x-ndjson' },
      body: ndjson(10, 'metrics'),
    });
    const job = (await res.json()) as JobBody;
    await waitForJob(
      async () => (await (await fetch(`${stack.http}/api/jobs/${job.id}`, { headers: { authorization: u.auth } })).json()) as JobBody,
    );
    let text = '';
    const completed = /job_duration_seconds_count\{[^}]*queue="imports"[^}]*outcome="completed"[^}]*\} [1-9]/;
    // Each process publishes its metrics every 5 s.
    for (let i = 0; i < 30 && !completed.test(text); i++) {
      await sleep(500);
      text = await (await fetch(`${stack.internal}/metrics`)).text();
    }
    assert.match(text, /jobs_queue_jobs\{[^}]*queue="imports"[^}]*state="waiting"[^}]*\} \d+/);
    assert.match(text, completed);
    assert.match(text, /cleanup_removed_total/);
  });

  it('when a client uploads what an import cannot take, then it gets a problem saying what is accepted, through nginx', async () => {
    const u = await stackUser();
    const post = (body: string, type: string) =>
      fetch(`${stack.http}/api/todos/import`, { method: 'POST', headers: { authorization: u.auth, 'content-type': type }, body });
    await assertProblemResponse(await post('<xml/>', 'application/xml'), 415);
    await assertProblemResponse(await post('', 'application/x-ndjson'), 422);
    const tooLong = '{"content":"x"}\n'.repeat(100_001);
    await assertProblemResponse(await post(tooLong, 'application/x-ndjson'), 413);
    // Past the size nginx allows on this route: nginx's own 413, as a problem.
    const tooBig = 'a'.repeat(nginxContract.importLimitBytes + 1024);
    await assertProblemResponse(await post(tooBig, 'application/x-ndjson'), 413);
    // Other routes keep the small limit.
    const big = await fetch(`${stack.http}/api/todos`, {
      method: 'POST',
      headers: { authorization: u.auth, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'x'.repeat(nginxContract.bodyLimitBytes) }),
    });
    await assertProblemResponse(big, 413);
  });

  it('when the API workers are reloaded while a browser follows a job, then its stream ends and a reconnect is answered by a live worker', async () => {
    const s = await stackSession();
    // A job accepted but not queued stays as it is, so only the reload can end its stream.
    const { rows } = await stores.db.query<{ id: string }>(
      "INSERT INTO jobs (user_id, kind, total) VALUES ($1, 'import', 10) RETURNING id",
      [s.id],
    );
    const url = `${stack.http}/api/jobs/${rows[0]!.id}/events`;
    const stream = await fetch(url, { headers: { cookie: s.cookie } });
    const reading = readEvents(stream);
    await sleep(300);
    await pm2('reload', 'todo-api');
    const events = await reading;
    assert.deepEqual(
      events.filter((e) => e.comment === undefined).map((e) => e.event),
      ['progress'],
      'the current state, then the end the reload made',
    );
    const started = Date.now();
    const again = await fetch(url, { headers: { cookie: s.cookie, 'last-event-id': events[0]!.id! } });
    assert.equal(again.status, 200);
    const more = await readEvents(again, (e) => e.event !== undefined);
    assert.ok(Date.now() - started < 1_000, 'answered at once');
    assert.equal((JSON.parse(more[0]!.data!) as JobBody).state, 'queued');
    assert.ok((await jobWorker()).pid > 0);
  });
});

describe('an idle job events stream through nginx', () => {
  it('when a job waits with nothing to report, then a heartbeat comment comes every 15 s and nginx keeps the stream open', async () => {
    const s = await stackSession();
    const stores = await stackStores();
    // A job accepted but not queued: it stays as it is for this test.
    const { rows } = await stores.db.query<{ id: string }>(
      "INSERT INTO jobs (user_id, kind, total) VALUES ($1, 'import', 10) RETURNING id",
      [s.id],
    );
    await stores.close();
    const res = await fetch(`${stack.http}/api/jobs/${rows[0]!.id}/events`, { headers: { cookie: s.cookie, accept: 'text/event-stream' } });
    assert.equal(res.status, 200);
    const started = Date.now();
    const events = await readEvents(res, (e) => e.comment !== undefined);
    assert.equal(events[0]?.event, 'progress', 'the current state first');
    assert.equal((JSON.parse(events[0].data!) as JobBody).state, 'queued');
    const heartbeat = events.at(-1)!;
    assert.equal(heartbeat.comment, 'heartbeat');
    const after = heartbeat.at - started;
    assert.ok(after >= 14_000 && after < 17_000, `heartbeat after ${after} ms`);
  });
});
