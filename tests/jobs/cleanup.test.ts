import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { privateSetKey } from '../../app/edge';
import { cleanUp } from '../../app/jobs/cleanup';
import { createJobMetrics } from '../../app/jobs/metrics';
import { bullConnection, QUEUES, type ImportPayload } from '../../app/queues';
import { signUp, startApp, type TestApp } from '../helpers/app';

describe('the scheduled clean-up', () => {
  let t: TestApp;
  let queue: Queue<ImportPayload>;
  before(async () => {
    t = await startApp();
    queue = new Queue<ImportPayload>(QUEUES.imports, { connection: bullConnection(t.deps.config.redisUrl, 'producer') });
  });
  after(async () => {
    await queue.close();
    await t.close();
  });

  const count = async (sql: string, params: unknown[]) => (await t.deps.db.query<{ n: number }>(sql, params)).rows[0]!.n;

  it('when rows have outlived their use, then one run removes them, keeps the live ones, and counts what it removed', async () => {
    const u = await signUp(t, 'cleanup');
    const db = t.deps.db;
    const hash = () => createHash('sha256').update(randomBytes(16)).digest();
    // Sessions: one expired, one live (the sign-up's).
    await db.query("INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at) VALUES ($1, $2, 'x', now() - interval '1 minute')", [
      hash(),
      u.id,
    ]);
    // Idempotency records: one past the 24 h window, one inside it.
    await db.query(
      "INSERT INTO idempotency_keys (user_id, key, request_hash, created_at) VALUES ($1, 'old', $2, now() - interval '25 hours'), ($1, 'new', $2, now())",
      [u.id, hash()],
    );
    // Jobs: one finished 8 days ago (with an upload left), one finished today.
    const { rows: jobs } = await db.query<{ id: string }>(
      `INSERT INTO jobs (user_id, kind, state, created_at, finished_at) VALUES
         ($1, 'import', 'succeeded', now() - interval '9 days', now() - interval '8 days'),
         ($1, 'import', 'failed', now() - interval '1 hour', now())
       RETURNING id`,
      [u.id],
    );
    await db.query("INSERT INTO job_uploads (job_id, format, digest, body) VALUES ($1, 'ndjson', $2, $3)", [
      jobs[0]!.id,
      hash(),
      Buffer.from('{}'),
    ]);
    // nginx copy bookkeeping: one entry far older than any copy can live, one fresh.
    const key = privateSetKey(u.id);
    const [seconds] = await t.deps.redis.time();
    const now = Number(seconds) * 1000;
    await t.deps.redis.zadd(key, String(now - 3_600_000), 'aa old', String(now), 'bb new');
    await t.deps.redis.pexpire(key, 600_000);

    const registry = new Registry();
    const metrics = createJobMetrics(registry, []);
    const report = await cleanUp(t.deps, queue, metrics);

    assert.ok(report.sessions >= 1 && report.idempotency_keys >= 1 && report.jobs >= 1 && report.edge_copies >= 1, JSON.stringify(report));
    assert.equal(await count('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [u.id]), 1, 'the live session stays');
    assert.deepEqual(
      (await db.query<{ key: string }>('SELECT key FROM idempotency_keys WHERE user_id = $1', [u.id])).rows.map((r) => r.key),
      ['new'],
    );
    assert.deepEqual(
      (await db.query<{ id: string }>('SELECT id FROM jobs WHERE user_id = $1', [u.id])).rows.map((r) => r.id),
      [jobs[1]!.id],
    );
    assert.equal(
      await count('SELECT count(*)::int AS n FROM job_uploads WHERE job_id = $1', [jobs[0]!.id]),
      0,
      'the old upload went with its job',
    );
    assert.deepEqual(await t.deps.redis.zrange(key, '0', '-1'), ['bb new']);
    const counted = (await registry.getMetricsAsJSON()).find((m) => m.name === 'cleanup_removed_total')!;
    const valueOf = (what: string) => counted.values.find((v) => v.labels.what === what)?.value;
    assert.equal(valueOf('sessions'), report.sessions);
    assert.equal(valueOf('jobs'), report.jobs);
  });

  it('when an accepted import has no queue entry (Redis lost it), then the run queues it again', async () => {
    const u = await signUp(t, 'requeue');
    const { rows } = await t.deps.db.query<{ id: string }>(
      "INSERT INTO jobs (user_id, kind, total, created_at) VALUES ($1, 'import', 1, now() - interval '5 minutes') RETURNING id",
      [u.id],
    );
    const id = rows[0]!.id;
    assert.equal(await queue.getJob(id), undefined);
    const report = await cleanUp(t.deps, queue, createJobMetrics(new Registry(), []));
    assert.ok(report.requeued >= 1);
    const job = await queue.getJob(id);
    assert.ok(job, 'queued again');
    assert.deepEqual(job.data, { v: 1, jobId: id });
    // The test stack's job worker may have taken it already.
    await job.remove().catch(() => undefined);
  });
});
