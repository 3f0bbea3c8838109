import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { percentile, sleep, stack, stackUser } from '../helpers/stack';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

// The private Redis servers that scripts/test.sh started for this run: the
// durable one and the cache's.
type Control = { dir: string; port: string; mode: 'fast' | 'cache' };
function redisControl(): Control[] {
  const { TEST_REDIS_DIR, TEST_REDIS_PORT, TEST_CACHE_REDIS_DIR, TEST_CACHE_REDIS_PORT } = process.env;
  if (!TEST_REDIS_DIR || !TEST_REDIS_PORT || !TEST_CACHE_REDIS_DIR || !TEST_CACHE_REDIS_PORT) {
    throw new Error('this test stops and restarts Redis: run it with the private Redis servers npm test starts (no REDIS_URL)');
  }
  return [
    { dir: TEST_REDIS_DIR, port: TEST_REDIS_PORT, mode: 'fast' },
    { dir: TEST_CACHE_REDIS_DIR, port: TEST_CACHE_REDIS_PORT, mode: 'cache' },
  ];
}
const lib = (fn: string, c: Control) =>
  run('bash', ['-c', `source "${ROOT}/scripts/lib.sh" && ${fn} "$1" "$2" "$3"`, fn, c.dir, c.port, c.mode]);
const stopRedis = (all: Control[]) => Promise.all(all.map((c) => lib('stop_redis', c).catch(() => undefined)));
const startRedis = (all: Control[]) => Promise.all(all.map((c) => lib('start_redis', c)));

describe('Redis stopped under the running stack', () => {
  const control = redisControl();
  after(() => startRedis(control));

  it('when Redis stops, then reads and writes go on from PostgreSQL fast, and caching resumes when it is back', async (t) => {
    const { auth } = await stackUser();
    const headers = { authorization: auth };
    const timed = async (method: string, body?: unknown) => {
      const started = performance.now();
      const res = await fetch(`${stack.http}/api/todos`, {
        method,
        headers: { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { res, text, ms: performance.now() - started };
    };
    // Answered from a cache: the app's (X-Cache) or nginx's copy for this token.
    const cached = (res: Response) => res.headers.get('x-cache') === 'HIT' || res.headers.get('x-cache-status') === 'HIT';
    await timed('GET');
    assert.ok(cached((await timed('GET')).res));

    await stopRedis(control);
    const times: number[] = [];
    const caches = new Set<string | null>();
    for (let i = 0; i < 60; i++) {
      const write = await timed('POST', { content: `during the outage ${i}` });
      assert.equal(write.res.status, 201, write.text);
      // nginx held a copy for this token from before the outage: the write
      // must still have dropped it.
      const read = await timed('GET');
      assert.equal(read.res.status, 200, read.text);
      assert.notEqual(read.res.headers.get('x-cache-status'), 'HIT');
      assert.equal((JSON.parse(read.text) as { data: Array<{ content: string }> }).data[0]!.content, `during the outage ${i}`);
      times.push(write.ms, read.ms);
      caches.add(read.res.headers.get('x-cache'));
    }
    const p99 = percentile(times, 99);
    t.diagnostic(
      `with Redis stopped: ${times.length} requests, p50 ${percentile(times, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, X-Cache ${[...caches].join(',')}`,
    );
    assert.deepEqual([...caches], ['BYPASS']);
    assert.ok(p99 < 100, `p99 ${p99} ms`);

    await startRedis(control);
    let resumed = false;
    for (let i = 0; i < 100 && !resumed; i++) {
      await sleep(100);
      resumed = cached((await timed('GET')).res);
    }
    assert.ok(resumed, 'caching did not resume within 10 s of Redis coming back');
    const last = JSON.parse((await timed('GET')).text) as { data: Array<{ content: string }> };
    assert.equal(last.data[0]!.content, 'during the outage 59');
  });
});
