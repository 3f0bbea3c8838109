import pg from 'pg';
import type { Config } from './config';

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
