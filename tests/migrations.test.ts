import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { loadMigrations, migrateDown, migrateUp, MIGRATIONS_DIR } from '../app/migrate';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const APP_TABLES = ['api_tokens', 'idempotency_keys', 'job_uploads', 'jobs', 'sessions', 'todo_counts', 'todos', 'users'];

/** The test server's URL with another database name in its path. */
function urlFor(database: string): string {
  const url = new URL(process.env.DATABASE_URL ?? '');
  url.pathname = `/${database}`;
  return url.toString();
}

/** A fresh, empty database that exists only for one describe block. */
async function freshDatabase(admin: pg.Pool): Promise<{ name: string; url: string; pools: pg.Pool[]; pool: () => pg.Pool }> {
  const name = `todo_mig_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  const pools: pg.Pool[] = [];
  const pool = () => {
    const p = new pg.Pool({ connectionString: urlFor(name), max: 2 });
    pools.push(p);
    return p;
  };
  return { name, url: urlFor(name), pools, pool };
}

async function dropDatabase(admin: pg.Pool, db: { name: string; pools: pg.Pool[] }): Promise<void> {
  await Promise.all(db.pools.map((p) => p.end()));
  await admin.query(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`);
}

async function tables(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
  );
  return rows.map((r) => r.table_name);
}

/** Everything the migrations make, one line per column, index, constraint, trigger and function. */
async function schemaOf(pool: pg.Pool): Promise<string[]> {
  const { rows } = await pool.query<{ item: string }>(
    `SELECT format('column %s.%s %s %s %s', table_name, column_name, data_type, is_nullable, column_default) AS item
       FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'schema_migrations'
     UNION ALL
     SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> 'schema_migrations'
     UNION ALL
     SELECT format('constraint %s %s', conrelid::regclass, pg_get_constraintdef(oid)) FROM pg_constraint
      WHERE connamespace = 'public'::regnamespace AND conrelid <> 'schema_migrations'::regclass
     UNION ALL
     SELECT 'trigger ' || pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal
     UNION ALL
     SELECT 'function ' || pg_get_functiondef(p.oid) FROM pg_proc p
      WHERE pronamespace = 'public'::regnamespace AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
     ORDER BY 1`,
  );
  return rows.map((r) => r.item);
}

/** A folder with the first `count` migrations only. */
async function firstMigrations(names: string[], count: number): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'todo-migrations-'));
  for (const name of names.slice(0, count)) {
    for (const file of [`${name}.up.sql`, `${name}.down.sql`]) await copyFile(path.join(MIGRATIONS_DIR, file), path.join(dir, file));
  }
  return dir;
}

async function applied(pool: pg.Pool): Promise<{ version: number; name: string }[]> {
  const { rows } = await pool.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
  return rows;
}

async function cli(url: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('npx', ['--no-install', 'tsx', 'app/cli/migrate.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: url },
    timeout: 60_000,
  });
  return stdout.trim();
}

describe('migrations', () => {
  let admin: pg.Pool;
  let names: string[];
  const databases: Awaited<ReturnType<typeof freshDatabase>>[] = [];
  const fresh = async () => {
    const db = await freshDatabase(admin);
    databases.push(db);
    return db;
  };

  before(async () => {
    admin = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
    names = (await loadMigrations()).map((m) => m.name);
    assert.ok(names.length >= 2, 'expected at least the accounts and todos migrations');
  });
  after(async () => {
    await Promise.all(databases.map((db) => dropDatabase(admin, db)));
    const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = ANY($1)', [databases.map((d) => d.name)]);
    await admin.end();
    assert.equal(rows.length, 0, 'a test database was left behind');
  });

  it('when migrated up on an empty database, then every table and the list indexes exist', async () => {
    const pool = (await fresh()).pool();
    assert.deepEqual(await migrateUp(pool), names);
    assert.deepEqual(await tables(pool), [...APP_TABLES, 'schema_migrations'].sort());
    const { rows } = await pool.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = 'todos_user_created_idx'`,
    );
    assert.equal(rows.length, 1, 'todos_user_created_idx is missing');
    assert.match(rows[0]!.indexdef, /ON public\.todos USING btree \(user_id, created_at DESC, id DESC\)/);
    const { rows: filtered } = await pool.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = 'todos_user_finished_created_idx'`,
    );
    assert.match(filtered[0]?.indexdef ?? '', /ON public\.todos USING btree \(user_id, is_finished, created_at DESC, id DESC\)/);
    assert.deepEqual(
      (await applied(pool)).map((r) => r.name),
      names,
    );
    assert.deepEqual(await migrateUp(pool), [], 'a second run applies nothing');
  });

  it('when rolled all the way back, then only schema_migrations is left, and migrating up again restores the schema', async () => {
    const pool = (await fresh()).pool();
    await migrateUp(pool);
    await pool.query(`INSERT INTO users (email, password_hash) VALUES ('mig@example.test', 'x')`);

    assert.deepEqual(await migrateDown(pool, Infinity), [...names].reverse());
    assert.deepEqual(await tables(pool), ['schema_migrations']);
    assert.deepEqual(await applied(pool), []);
    assert.deepEqual(await migrateDown(pool, Infinity), [], 'nothing is left to roll back');

    assert.deepEqual(await migrateUp(pool), names);
    assert.deepEqual(await tables(pool), [...APP_TABLES, 'schema_migrations'].sort());
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM users');
    assert.equal(rows[0]?.n, 0, 'the re-created users table starts empty');
  });

  it('when rolled back one step, then exactly the newest migration is undone, and migrating up again redoes it', async () => {
    const pool = (await fresh()).pool();
    await migrateUp(pool);
    const full = await schemaOf(pool);
    assert.deepEqual(await migrateDown(pool, 1), [names.at(-1)]);
    assert.deepEqual(
      (await applied(pool)).map((r) => r.name),
      names.slice(0, -1),
    );

    // The same schema as a database that never had the newest migration.
    const dir = await firstMigrations(names, names.length - 1);
    try {
      const before = (await fresh()).pool();
      assert.deepEqual(await migrateUp(before, dir), names.slice(0, -1));
      assert.deepEqual(await schemaOf(pool), await schemaOf(before));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.notDeepEqual(await schemaOf(pool), full, 'the newest migration changed something');

    assert.deepEqual(await migrateUp(pool), [names.at(-1)]);
    assert.deepEqual(await schemaOf(pool), full);
  });

  it('when two processes migrate the same empty database at once, then both succeed and each migration runs once', async () => {
    const db = await fresh();
    const [a, b] = await Promise.all([migrateUp(db.pool()), migrateUp(db.pool())]);
    assert.deepEqual([...a, ...b].sort(), [...names].sort(), 'each migration is reported by exactly one runner');
    const rows = await applied(db.pool());
    assert.deepEqual(
      rows.map((r) => r.name),
      names,
    );
    assert.equal(new Set(rows.map((r) => r.version)).size, rows.length);
    assert.deepEqual(await tables(db.pool()), [...APP_TABLES, 'schema_migrations'].sort());
  });

  it('when `npm run migrate` runs twice, then the first applies everything and the second says the schema is up to date', async () => {
    const db = await fresh();
    assert.equal(await cli(db.url, 'up'), `applied: ${names.join(', ')}`);
    assert.equal(await cli(db.url, 'up'), 'schema is up to date');
    assert.equal(await cli(db.url, 'down', '--all'), `rolled back: ${[...names].reverse().join(', ')}`);
    assert.deepEqual(await tables(db.pool()), ['schema_migrations']);
    assert.equal(await cli(db.url), `applied: ${names.join(', ')}`, 'up is the default command');
  });
});
