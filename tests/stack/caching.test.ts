import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { SNAPSHOT_KEY_PREFIX } from '../../app/metrics-merge';
import { LIST_SQL, listKey } from '../helpers/caching';
import { appLog, sleep, stack, stackSession, stackStores, stackUser } from '../helpers/stack';

const get = (path: string, headers: Record<string, string>) => fetch(`${stack.http}${path}`, { headers });
const post = (path: string, headers: Record<string, string>, body: unknown) =>
  fetch(`${stack.http}${path}`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('the app cache through nginx, with two PM2 workers', () => {
  let db: pg.Client;
  let redis: Redis;
  let cacheRedis: Redis;
  let closeStores: () => Promise<void>;
  before(async () => {
    ({ db, redis, cacheRedis, close: closeStores } = await stackStores());
  });
  after(() => closeStores());

  /** Calls of the list query PostgreSQL has seen (pg_stat_statements). */
  const listQueryCalls = async () => {
    const { rows } = await db.query<{ calls: string }>(
      'SELECT coalesce(sum(calls), 0) AS calls FROM pg_stat_statements WHERE starts_with(query, $1)',
      [LIST_SQL],
    );
    return Number(rows[0]!.calls);
  };

  it('when a user writes then reads 50 times, on whichever worker, then every read shows the write', async () => {
    const { auth } = await stackUser();
    const headers = { authorization: auth };
    await sleep(6_000);
    const before = await readsPerWorker(redis);
    const writes: string[] = [];
    for (let round = 0; round < 50; round++) {
      // Read first, so the page is cached when the write comes.
      await get('/api/todos', headers);
      const created = await post('/api/todos', headers, { content: `round ${round}` });
      assert.equal(created.status, 201);
      writes.push(created.headers.get('x-request-id')!);
      // Several reads at once travel on several of nginx's upstream
      // connections, and so reach both workers.
      const reads = await Promise.all(Array.from({ length: 4 }, () => get('/api/todos', headers)));
      for (const read of reads) {
        const page = (await read.json()) as { data: Array<{ content: string }> };
        assert.equal(page.data[0]!.content, `round ${round}`, `round ${round}: stale first page (X-Cache ${read.headers.get('x-cache')})`);
      }
    }
    // Successful reads leave no app log line (nginx logs them), so which
    // worker served them comes from each worker's own metrics, as published
    // to Redis every 5 s; writes are in the app log with the worker's pid.
    let servedReads: string[] = [];
    for (const deadline = Date.now() + 12_000; servedReads.length < 2 && Date.now() < deadline; await sleep(500)) {
      const after = await readsPerWorker(redis);
      servedReads = [...after].filter(([pid, n]) => n > (before.get(pid) ?? 0)).map(([pid]) => pid);
    }
    const writePids = new Set((await appLog()).filter((l) => writes.includes(String(l.request_id))).map((l) => String(l.pid)));
    assert.ok(servedReads.length >= 2, `reads were served by ${servedReads.length} worker(s)`);
    assert.ok(writePids.size >= 1);
  });

  it('when the entry is gone and 200 requests ask for it at once, then PostgreSQL runs the list query exactly once', async (t) => {
    const { auth } = await stackUser();
    const headers = { authorization: auth };
    for (let i = 0; i < 5; i++) await post('/api/todos', headers, { content: `stampede ${i}` });
    const me = (await (await get('/api/me', headers)).json()) as { user: { id: string } };
    // Warms connections and the credential cache, but leaves nginx no copy of
    // the page: here the app's own cache meets the crowd.
    await get('/api/me', headers);
    await cacheRedis.del(listKey(me.user.id));

    const before = await listQueryCalls();
    const responses = await Promise.all(Array.from({ length: 200 }, () => get('/api/todos', headers)));
    const queries = (await listQueryCalls()) - before;
    const statuses = responses.map((r) => r.status);
    const bodies = new Set(await Promise.all(responses.map((r) => r.text())));
    // Only answers the app made count: nginx may have answered the later ones
    // from its copy of the first (tests/stack/private-cache.test.ts).
    const cache = responses.filter((r) => r.headers.get('x-cache-status') !== 'HIT').map((r) => r.headers.get('x-cache'));
    t.diagnostic(`200 concurrent requests: ${queries} list query; X-Cache ${JSON.stringify(countBy(cache))}`);
    assert.deepEqual(new Set(statuses), new Set([200]));
    assert.equal(bodies.size, 1);
    assert.equal(queries, 1);
    assert.equal(cache.filter((c) => c === 'MISS').length, 1);
  });

  it("when user A and B interleave with anonymous readers on the same URLs, then nobody ever gets another party's body", async () => {
    const a = await stackSession();
    const b = await stackUser();
    const slug = `shared-${a.id.slice(0, 8)}`;
    const aHeaders = { cookie: a.cookie, 'x-csrf-token': a.csrf };
    await post('/api/todos', aHeaders, { content: 'A private todo' });
    await post('/api/todos', { authorization: b.auth }, { content: 'B private todo' });
    const patched = await fetch(`${stack.http}/api/me`, {
      method: 'PATCH',
      headers: { ...aHeaders, 'content-type': 'application/json' },
      body: JSON.stringify({ public_slug: slug }),
    });
    assert.equal(patched.status, 200);

    const urls = ['/api/todos', `/api/public/${slug}/todos`, `/u/${slug}`];
    const parties = [
      { name: 'A', headers: { cookie: a.cookie } as Record<string, string> },
      { name: 'B', headers: { authorization: b.auth } as Record<string, string> },
      { name: 'anonymous', headers: {} as Record<string, string> },
    ];
    for (let round = 0; round < 20; round++) {
      for (const url of urls) {
        const results = await Promise.all(
          parties.map(async (p) => {
            const res = await get(url, p.headers);
            return { party: p.name, res, text: await res.text() };
          }),
        );
        for (const { party, res, text } of results) {
          if (url === '/api/todos') {
            // Each credential gets its own list; no credential gets nothing.
            if (party === 'A') assert.ok(text.includes('A private todo') && !text.includes('B private todo'), `A got: ${text}`);
            if (party === 'B') assert.ok(text.includes('B private todo') && !text.includes('A private todo'), `B got: ${text}`);
            if (party === 'anonymous') assert.ok(res.status === 401 && !text.includes('private todo'), `anonymous got: ${text}`);
          } else {
            // A's public list, the same for everyone, and never B's.
            assert.equal(res.status, 200, `${party} ${url}`);
            assert.ok(text.includes('A private todo') && !text.includes('B private todo'), `${party} at ${url} got: ${text}`);
            assert.equal(res.headers.get('set-cookie'), null, `public response set a cookie for ${party}`);
          }
        }
      }
    }
  });
});

type Snapshot = Array<{ name: string; values: Array<{ metricName?: string; labels: Record<string, string>; value: number }> }>;

/** GETs of /api/todos each worker has answered, from its metrics snapshot in Redis. */
async function readsPerWorker(redis: Redis): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const key of await redis.keys(`${SNAPSHOT_KEY_PREFIX}*`)) {
    const snapshot = JSON.parse((await redis.get(key)) ?? '[]') as Snapshot;
    const histogram = snapshot.find((m) => m.name === 'http_request_duration_seconds');
    const n = (histogram?.values ?? [])
      .filter(
        (v) => v.metricName === 'http_request_duration_seconds_count' && v.labels.method === 'GET' && v.labels.route === '/api/todos/',
      )
      .reduce((sum, v) => sum + v.value, 0);
    counts.set(key.slice(SNAPSHOT_KEY_PREFIX.length), n);
  }
  return counts;
}

function countBy(values: Array<string | null>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[String(v)] = (counts[String(v)] ?? 0) + 1;
  return counts;
}
