import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Pool, PoolClient } from 'pg';

export const MIGRATIONS_DIR = path.resolve(__dirname, '..', 'migrations');

// One lock for every process that migrates this database: a second runner
// waits, then finds the work done.
const LOCK_ID = 7_302_019_401;

type Migration = { version: number; name: string; up: string; down: string };

export async function loadMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = await readdir(dir);
  const ups = files.filter((f) => /^\d+_[\w-]+\.up\.sql$/.test(f)).sort();
  return Promise.all(
    ups.map(async (file) => {
      const base = file.replace(/\.up\.sql$/, '');
      const version = Number(base.split('_')[0]);
      const down = `${base}.down.sql`;
      if (!files.includes(down)) throw new Error(`migration ${file} has no ${down}`);
      return {
        version,
        name: base,
        up: await readFile(path.join(dir, file), 'utf8'),
        down: await readFile(path.join(dir, down), 'utf8'),
      };
    }),
  );
}

async function withLock<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_ID]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    return await fn(client);
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_ID]).catch(() => undefined);
    client.release();
  }
}

async function applied(client: PoolClient): Promise<Set<number>> {
  const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
  return new Set(rows.map((r) => r.version));
}

/** Applies every pending migration in order, each in its own transaction. Returns their names. */
export async function migrateUp(pool: Pool, dir?: string): Promise<string[]> {
  const migrations = await loadMigrations(dir);
  return withLock(pool, async (client) => {
    const done = await applied(client);
    const ran: string[] = [];
    for (const m of migrations.filter((m) => !done.has(m.version))) {
      await client.query('BEGIN');
      try {
        await client.query(m.up);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
      ran.push(m.name);
    }
    return ran;
  });
}

/** Rolls back the newest `steps` applied migrations (all of them with Infinity). */
export async function migrateDown(pool: Pool, steps: number, dir?: string): Promise<string[]> {
  const migrations = await loadMigrations(dir);
  return withLock(pool, async (client) => {
    const done = await applied(client);
    const toUndo = migrations
      .filter((m) => done.has(m.version))
      .reverse()
      .slice(0, steps);
    for (const m of toUndo) {
      await client.query('BEGIN');
      try {
        await client.query(m.down);
        await client.query('DELETE FROM schema_migrations WHERE version = $1', [m.version]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`rollback of ${m.name} failed: ${(err as Error).message}`, { cause: err });
      }
    }
    return toUndo.map((m) => m.name);
  });
}
