import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ndjson } from '../helpers/jobs';
import { sleep, stack, stackSession, stackUser } from '../helpers/stack';

// The stack's own Prometheus (PROMETHEUS=1; npm test starts it when this
// file runs, scraping every 2 s) asked what an operator would ask it.

const prometheus = process.env.STACK_PROMETHEUS_URL ?? '';

type Sample = { metric: Record<string, string>; value: [number, string] };

async function query(expr: string): Promise<Sample[]> {
  const res = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; data: { result: Sample[] }; error?: string };
  assert.equal(body.status, 'success', `${expr}: ${body.error}`);
  return body.data.result;
}

/** Asks until the answer has a sample that `ok` accepts (scrapes every 2 s, snapshots every 5 s). */
async function queryUntil(expr: string, ok: (s: Sample) => boolean = () => true): Promise<Sample[]> {
  let result: Sample[] = [];
  for (let i = 0; i < 60; i++) {
    result = await query(expr);
    if (result.some(ok)) return result;
    await sleep(500);
  }
  assert.fail(`${expr} never gave the expected answer: ${JSON.stringify(result)}`);
}

describe('a real Prometheus scraping the stack', () => {
  let cookie = '';
  let traffic = Promise.resolve();
  let stop = false;
  after(async () => {
    stop = true;
    await traffic;
  });
  before(async () => {
    assert.ok(prometheus, 'STACK_PROMETHEUS_URL: run through npm test');
    const { auth } = await stackUser();
    const headers = { authorization: auth };
    for (let i = 0; i < 20; i++) {
      await (
        await fetch(`${stack.http}/api/todos`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ content: `p ${i}` }),
        })
      ).arrayBuffer();
    }
    // A session's reads pass nginx's copies (those are per API token), so the app cache answers them.
    ({ cookie } = await stackSession());
    // A rate needs the counters to move while Prometheus watches: reads go
    // on in the background until the end.
    traffic = (async () => {
      while (!stop) {
        await (await fetch(`${stack.http}/api/todos`, { headers: { cookie } })).arrayBuffer();
        await sleep(50);
      }
    })();
    await (
      await fetch(`${stack.http}/api/todos/import`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-ndjson' },
        body: ndjson(5, 'prom'),
      })
    ).arrayBuffer();
  });

  it('when traffic has gone through, then it has one healthy target and the alert rules', async () => {
    const up = await queryUntil('up{job="todo-stack"}', (s) => s.value[1] === '1');
    assert.equal(up.length, 1, 'one target: nginx’s internal listener, for every worker');
    const rules = (await (await fetch(`${prometheus}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ name: string; rules: unknown[] }> };
    };
    assert.ok(rules.data.groups.some((g) => g.name === 'todo-stack' && g.rules.length >= 8));
  });

  it('when asked, then it finds request rates per route, a p99, the cache hit ratio and the queue depth', async () => {
    const rates = await queryUntil(
      'sum by (route) (rate(http_requests_total[1m]))',
      (s) => s.metric.route === '/api/todos/' && Number(s.value[1]) > 0,
    );
    assert.ok(
      rates.every((s) => !/[0-9a-f]{8}-/.test(s.metric.route ?? '')),
      'routes are templates',
    );
    const [p99] = await queryUntil(
      'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{route="/api/todos/"}[1m])))',
      (s) => Number.isFinite(Number(s.value[1])),
    );
    assert.ok(Number(p99!.value[1]) > 0 && Number(p99!.value[1]) <= 2.5, `p99 ${p99!.value[1]} s`);
    const [ratio] = await queryUntil(
      'sum(rate(app_cache_requests_total{cache="todos",result="HIT"}[1m])) / sum(rate(app_cache_requests_total{cache="todos"}[1m]))',
      (s) => Number(s.value[1]) > 0,
    );
    assert.ok(Number(ratio!.value[1]) <= 1);
    const depth = await queryUntil('jobs_queue_jobs{queue="imports"}');
    assert.deepEqual([...new Set(depth.map((s) => s.metric.state))].sort(), ['active', 'delayed', 'failed', 'prioritized', 'waiting']);
    // Series scraped in the last seconds only: an earlier run's are in the same data folder.
    const workers = await query('count(last_over_time(process_start_time_seconds[10s]))');
    assert.equal(workers[0]?.value[1], '3', 'two API workers and the job worker, each its own series');
  });
});
