import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bullConnection, IMPORT_JOB_OPTIONS, QUEUES, type ImportPayload } from '../../app/queues';

// The queue lives in the durable Redis the run command starts
// (scripts/lib.sh start_redis … durable): a job accepted before a Redis
// restart is still there after it.

const run = promisify(execFile);
const LIB = path.join(__dirname, '..', '..', 'scripts', 'lib.sh');
const PORT = '63878';
const lib = (fn: string, ...args: string[]) => run('bash', ['-c', `source "${LIB}" && ${fn} "$@"`, fn, ...args]);

describe('the queue Redis', () => {
  let dir = '';
  after(async () => {
    if (dir) {
      await lib('stop_redis', dir, PORT).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('when Redis restarts with queued jobs, then they are still queued, and it never evicts queue keys', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'todo-queue-redis-'));
    const url = (await lib('start_redis', dir, PORT, 'durable')).stdout.trim();
    const redis = new Redis(url);
    assert.deepEqual(await redis.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction']);
    assert.deepEqual(await redis.config('GET', 'appendonly'), ['appendonly', 'yes']);
    redis.disconnect();

    const jobId = 'c0ffee00-0000-4000-8000-000000000001';
    let queue = new Queue<ImportPayload>(QUEUES.imports, { connection: bullConnection(url, 'producer') });
    await queue.add('import', { v: 1, jobId }, { ...IMPORT_JOB_OPTIONS, jobId });
    await queue.close();

    await lib('stop_redis', dir, PORT);
    assert.equal((await lib('start_redis', dir, PORT, 'durable')).stdout.trim(), url);
    queue = new Queue<ImportPayload>(QUEUES.imports, { connection: bullConnection(url, 'producer') });
    const job = await queue.getJob(jobId);
    assert.deepEqual(job?.data, { v: 1, jobId });
    assert.equal(await job.getState(), 'waiting');
    await queue.close();
  });
});
