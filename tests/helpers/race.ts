import assert from 'node:assert/strict';
import pg from 'pg';

/**
 * Starts `racers` requests that all write `table`, and lets them reach
 * PostgreSQL together: a transaction of its own holds the table against
 * writes until every racer waits on a lock (the table, or a row another
 * racer holds), then lets go. Without the gate, requests arrive one after
 * another and a check-then-insert without a lock would look safe.
 * `racers` must stay below the app's pool size, or some never get that far.
 */
export async function raceAtGate<T>(table: 'todos' | 'api_tokens', racers: Array<() => PromiseLike<T>>): Promise<T[]> {
  const gate = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await gate.connect();
  try {
    await gate.query('BEGIN');
    await gate.query(`LOCK TABLE ${table} IN SHARE MODE`);
    const running = Promise.all(racers.map((start) => start()));
    const waiting = async () =>
      (await gate.query<{ n: number }>('SELECT count(DISTINCT pid)::int AS n FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()'))
        .rows[0]!.n;
    const deadline = Date.now() + 10_000;
    while ((await waiting()) < racers.length) {
      assert.ok(Date.now() < deadline, `only ${await waiting()} of ${racers.length} racers reached the gate`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await gate.query('COMMIT');
    return await running;
  } finally {
    await gate.end();
  }
}
