import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Queue, QueueEvents, Worker } from 'bullmq';
import pg from 'pg';
import { insertJob, insertUpload } from '../../app/jobs/queries';
import { getJob } from '../../app/jobs/service';
import { bullConnection, type ImportPayload } from '../../app/queues';
import { runImport } from '../../app/todos/import-job';
import { signUp, startApp, type TestApp } from '../helpers/app';
import { ndjson } from '../helpers/jobs';

// The import processor under a real BullMQ worker, on a queue of this test's
// own (the test stack's job worker must not take these jobs), with a
// statement timeout short enough that a held lock fails an attempt fast.
describe('an import that keeps failing', () => {
  let t: TestApp;
  let queue: Queue<ImportPayload>;
  let events: QueueEvents;
  let worker: Worker<ImportPayload>;
  const name = `imports-failing-${randomUUID().slice(0, 8)}`;
  before(async () => {
    t = await startApp({ PG_STATEMENT_TIMEOUT_MS: '300' });
    const url = t.deps.config.redisUrl;
    queue = new Queue<ImportPayload>(name, { connection: bullConnection(url, 'producer') });
    events = new QueueEvents(name, { connection: bullConnection(url, 'blocking') });
    worker = new Worker<ImportPayload>(name, (job, token) => runImport(t.deps, job, token, { requested: false }), {
      connection: bullConnection(url, 'blocking'),
    });
    await Promise.all([events.waitUntilReady(), worker.waitUntilReady()]);
  });
  after(async () => {
    await worker.close();
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
    await t.close();
  });

  it('when every attempt fails, then the job ends failed with a reason a user can read, and the list holds no part of the failed batch', async () => {
    const u = await signUp(t, 'failing');
    const body = Buffer.from(ndjson(500, 'never'));
    const job = await insertJob(t.deps.db, u.id, 'import', 500);
    await insertUpload(t.deps.db, job.id, 'ndjson', createHash('sha256').update(body).digest(), body);

    // Hold the user's todo-limit lock (migration 004): every insert waits,
    // then hits the statement timeout, as it would behind a stuck database.
    const blocker = new pg.Client({ connectionString: t.deps.config.databaseUrl });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT pg_advisory_xact_lock_shared(3041, hashtext($1))', [u.id]);
      const added = await queue.add(
        'import',
        { v: 1, jobId: job.id },
        { jobId: job.id, attempts: 3, backoff: { type: 'fixed', delay: 50 } },
      );
      await assert.rejects(added.waitUntilFinished(events, 30_000));
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }

    const ended = await getJob(t.deps, u.id, job.id);
    assert.equal(ended.state, 'failed');
    assert.match(ended.error ?? '', /^The import failed after several tries: .*statement timeout.*nothing of the failed batch was/i);
    assert.equal(ended.result.created, 0);
    const { rows } = await t.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM todos WHERE user_id = $1', [u.id]);
    assert.equal(rows[0]!.n, 0, 'no half batch');
    assert.equal((await queue.getJob(job.id))?.attemptsMade, 3, 'retried until its attempts ran out');
  });

  it('when its upload is gone, then it fails at once, saying so', async () => {
    const u = await signUp(t, 'no-upload');
    const job = await insertJob(t.deps.db, u.id, 'import', 1);
    const added = await queue.add('import', { v: 1, jobId: job.id }, { jobId: job.id, attempts: 5, backoff: { type: 'fixed', delay: 50 } });
    await assert.rejects(added.waitUntilFinished(events, 30_000));
    const ended = await getJob(t.deps, u.id, job.id);
    assert.equal(ended.state, 'failed');
    assert.match(ended.error ?? '', /no longer stored; upload it again/);
    assert.equal((await queue.getJob(job.id))?.attemptsMade, 1, 'not retried');
  });

  it('when a job from a newer release arrives, then this one refuses it by name instead of misreading it', async () => {
    const u = await signUp(t, 'version');
    const job = await insertJob(t.deps.db, u.id, 'import', 1);
    const added = await queue.add('import', { v: 2, jobId: job.id } as unknown as ImportPayload, { jobId: job.id });
    await assert.rejects(added.waitUntilFinished(events, 30_000), /payload version 2/);
  });
});
