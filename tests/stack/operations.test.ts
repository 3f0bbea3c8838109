import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import pg from 'pg';
import { apiWorkers, pm2, sleep, stack, stackUser, wrk } from '../helpers/stack';

// The benchmark's mixed script, with a write every fifth request.
const MIXED = path.join(__dirname, '../../bench/mixed.lua');
const WORKERS = 2;
const POOL_MAX = 10;
// Documented in the README: a reload runs an old and a new worker side by
// side, so the API may briefly hold twice its steady-state connections.
const API_CONNECTION_BUDGET = 2 * WORKERS * POOL_MAX;

/** Samples the API's PostgreSQL connections until stopped; returns the peak. */
function watchConnections(): { stop: () => Promise<number> } {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  let peak = 0;
  let running = true;
  const loop = (async () => {
    await client.connect();
    while (running) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'todo-stack'`,
      );
      peak = Math.max(peak, rows[0]!.n);
      await sleep(100);
    }
    await client.end();
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return peak;
    },
  };
}

async function waitForWorkers(count: number, except: number[] = []): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    const online = (await apiWorkers()).filter((w) => w.pm2_env.status === 'online' && !except.includes(w.pid));
    if (online.length >= count) return online.map((w) => w.pid);
    await sleep(200);
  }
  throw new Error(`fewer than ${count} workers came online`);
}

describe('the PM2 cluster behind nginx, under load', () => {
  let auth: string;
  let token: string;
  before(async () => {
    ({ auth, token } = await stackUser());
    await waitForWorkers(WORKERS);
  });

  it('when pm2 reloads the API under reads and writes, then no request fails', async (t) => {
    const connections = watchConnections();
    // One reload replaces each worker in turn (each waits out nginx's
    // keepalive and drains: about 6 s) and then todo-jobs: 15-16 s here,
    // up to 24 s on a busy machine.
    const seconds = 32;
    const loadStarted = Date.now();
    const load = wrk({ url: stack.http, connections: 50, seconds, script: MIXED, env: { TOKEN: token, WRITE_EVERY: '5' } });
    await sleep(3_000);
    const before = await apiWorkers();
    const reloadStarted = Date.now();
    await pm2('reload', 'ecosystem.config.js');
    const reloadEnded = Date.now();
    const result = await load;
    const peak = await connections.stop();
    const afterReload = await apiWorkers();

    t.diagnostic(
      `reload under load: ${result.requests} requests, ${result.non2xx} non-2xx, socket errors ${JSON.stringify(result.errors)}`,
    );
    t.diagnostic(`peak PostgreSQL connections of the API: ${peak} (budget ${API_CONNECTION_BUDGET})`);
    t.diagnostic(`the reload took ${reloadEnded - reloadStarted} ms`);
    // The load must surround the whole reload, or requests during its end go untested.
    assert.ok(reloadEnded - loadStarted < (seconds - 2) * 1000, `the reload outlasted the load: ${reloadEnded - reloadStarted} ms`);
    assert.ok(result.requests > 1_000, `too little load to prove anything: ${result.requests}`);
    assert.equal(result.non2xx, 0);
    assert.deepEqual(result.errors, { connect: 0, read: 0, write: 0, timeout: 0 });
    assert.ok(peak <= API_CONNECTION_BUDGET, `peak ${peak} connections over the budget ${API_CONNECTION_BUDGET}`);
    // Every worker was replaced.
    const oldPids = before.map((w) => w.pid);
    assert.equal(afterReload.filter((w) => w.pm2_env.status === 'online').length, WORKERS);
    assert.ok(
      afterReload.every((w) => !oldPids.includes(w.pid)),
      'some worker was not reloaded',
    );
  });

  it('when one worker is killed with SIGKILL under load, then PM2 restarts it and the service keeps answering', async (t) => {
    const pids = await waitForWorkers(WORKERS);
    const victim = pids[0]!;
    const load = wrk({ url: `${stack.http}/api/todos?limit=5`, connections: 50, seconds: 12, headers: [`Authorization: ${auth}`] });
    await sleep(3_000);
    process.kill(victim, 'SIGKILL');
    const replacement = await waitForWorkers(WORKERS, [victim]);
    const result = await load;

    t.diagnostic(
      `SIGKILL under GET load: ${result.requests} requests, ${result.failed} failed (${result.non2xx} non-2xx, socket errors ${JSON.stringify(result.errors)})`,
    );
    assert.equal(replacement.length, WORKERS);
    assert.ok(!replacement.includes(victim));
    assert.ok(result.requests > 1_000);
    // Only requests that were on the killed worker at that instant can fail.
    assert.ok(result.failed <= 50, `${result.failed} failed requests`);
    const res = await fetch(`${stack.http}/api/todos`, { headers: { authorization: auth } });
    assert.equal(res.status, 200);
  });
});
