import pg from 'pg';
import type { Histogram } from 'prom-client';
import type { Config } from './config';
import type { Metrics } from './metrics';

export type Pool = pg.Pool;
/** A pool or a client inside a transaction: query functions take either. */
export type Queryable = Pick<pg.Pool, 'query'>;

export function createPool(config: Config, applicationName = 'todo-stack'): pg.Pool {
  return new pg.Pool({
    connectionString: config.databaseUrl,
    max: config.pg.poolMax,
    connectionTimeoutMillis: config.pg.connectTimeoutMs,
    idleTimeoutMillis: 30_000,
    statement_timeout: config.pg.statementTimeoutMs,
    idle_in_transaction_session_timeout: config.pg.statementTimeoutMs * 2,
    application_name: applicationName,
  });
}

// A query's name in metrics: its prepared statement's name (pg's `name`), a
// comment `/* name */` in its text, else its
// verb and table ("select todos"), else its first word ("begin"). Names come
// from the code, so their number is bounded; SQL text never becomes a label.
const NAMED = /\/\*\s*([a-z][\w.-]*)\s*\*\//i;
const VERB_TABLE =
  /^\s*(?:(select)\b[\s\S]*?\bfrom\s+([a-z_]+)|(insert)\s+into\s+([a-z_]+)|(update)\s+([a-z_]+)|(delete)\s+from\s+([a-z_]+)|([a-z]+))/i;
const MAX_REMEMBERED = 1_000;

export function queryName(text: string): string {
  const named = NAMED.exec(text);
  if (named) return named[1]!;
  const m = VERB_TABLE.exec(text);
  if (!m) return 'other';
  const [verb, table] = m.slice(1).filter((x) => x !== undefined);
  return (table ? `${verb} ${table}` : verb!).toLowerCase();
}

type QueryFn = (config: unknown, values?: unknown, callback?: unknown) => unknown;
type Callback = (err: Error | undefined, res: unknown) => void;

/**
 * Times every query of the pool's clients (pool.query runs on them too) and
 * reports the pool's size: the clients' query method is wrapped once per
 * connection. Cursors (exports) are left alone: they last as long as the
 * reader.
 */
export function instrumentPool(pool: pg.Pool, metrics: Metrics): void {
  metrics.probes.pool = pool;
  const timers = new Map<string, { time: Histogram.Internal<'query'>; name: string }>();
  const timerFor = (text: string, preparedAs: unknown) => {
    let t = timers.get(text);
    if (!t) {
      const name = typeof preparedAs === 'string' ? preparedAs : queryName(text);
      t = { time: metrics.queryDuration.labels({ query: name }), name };
      if (timers.size < MAX_REMEMBERED) timers.set(text, t);
    }
    return t;
  };
  pool.on('connect', (client) => {
    const original = client.query.bind(client) as QueryFn;
    const timed: QueryFn = (config, values, callback) => {
      if (typeof config !== 'string' && typeof (config as { submit?: unknown } | null)?.submit === 'function') {
        return original(config, values, callback);
      }
      const { text, name } =
        typeof config === 'string' ? { text: config, name: undefined } : ((config ?? {}) as { text?: unknown; name?: unknown });
      const t = timerFor(typeof text === 'string' ? text : '', name);
      const started = performance.now();
      const done = (err: unknown) => {
        t.time.observe((performance.now() - started) / 1000);
        if (err) metrics.queryErrors.inc({ query: t.name });
      };
      const cb = (typeof values === 'function' ? values : callback) as Callback | undefined;
      if (cb) {
        const wrapped: Callback = (err, res) => {
          done(err);
          cb(err, res);
        };
        return typeof values === 'function' ? original(config, wrapped) : original(config, values, wrapped);
      }
      return (original(config, values) as Promise<unknown>).then(
        (res) => {
          done(undefined);
          return res;
        },
        (err: unknown) => {
          done(err);
          throw err;
        },
      );
    };
    client.query = timed as typeof client.query;
  });
}

/** Runs fn in a transaction; rolls back if it throws. */
export async function transaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}

export const isUniqueViolation = (err: unknown, constraint?: string): boolean =>
  err instanceof pg.DatabaseError && err.code === '23505' && (constraint === undefined || err.constraint === constraint);
