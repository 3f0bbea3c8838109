import assert from 'node:assert/strict';
import http from 'node:http';
import { parse } from 'csv-parse/sync';
import pg from 'pg';
import type { Queryable } from '../../app/db';
import { restoredCell } from '../../app/todos/export';
import { EXPORT_SQL } from '../../app/todos/queries';
import type { TodoJson } from './todos';

/** Backends whose latest statement is the export's cursor: open exports, or ones whose connection was not closed. */
export async function exportBackends(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1', [EXPORT_SQL]);
  return rows[0]!.n;
}

/** Polls until no backend runs the export's cursor; returns how long that took. */
export async function untilNoExportBackends(db: Queryable, withinMs: number): Promise<number> {
  const started = performance.now();
  while ((await exportBackends(db)) > 0) {
    assert.ok(performance.now() - started < withinMs, `an export's connection was still open after ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - started;
}

/** Runs statements in one transaction free of the pool's statement timeout: on a busy machine bulk writes can take longer. */
async function unhurried(db: pg.Pool | pg.Client, run: (client: pg.ClientBase) => Promise<unknown>): Promise<void> {
  const client = db instanceof pg.Pool ? await db.connect() : db;
  try {
    await client.query(`BEGIN; SET LOCAL statement_timeout = 0`);
    await run(client);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    if (client !== db) (client as pg.PoolClient).release();
  }
}

/**
 * Inserts `count` todos in one statement (one trigger run for the todo
 * count), oldest first, a millisecond apart, each `padding` characters long
 * past its number, so an export of them is large.
 */
export const seedMany = (db: pg.Pool | pg.Client, userId: string, count: number, padding = 0) =>
  unhurried(db, (client) =>
    client.query(
      `INSERT INTO todos (user_id, content, created_at, updated_at)
       SELECT $1, 'seeded ' || i || repeat('.', $3::int), at, at
         FROM generate_series(1, $2::int) AS i,
              LATERAL (SELECT now() - interval '1 day' + i * interval '1 millisecond' AS at) AS x`,
      [userId, count, padding],
    ),
  );

/**
 * Removes users and their todos. Hundreds of thousands of other users' rows
 * left behind shift the planner's statistics under later tests' EXPLAINs
 * (tests/todos/list-plan-filtered.test.ts then chose a sort now and then).
 */
export const removeUsers = (db: pg.Pool | pg.Client, ids: string[]) =>
  unhurried(db, (client) => client.query('DELETE FROM users WHERE id = ANY($1)', [ids]));

/** A streamed GET the test reads at its own pace: the head and first chunk, then the rest or a hang-up. */
export type OpenStream = {
  status: number;
  headers: http.IncomingHttpHeaders;
  first: string;
  res: http.IncomingMessage;
  /** Everything after the first chunk, once the response has ended completely. */
  rest(): Promise<string>;
  hangUp(): void;
};

export function openStream(url: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      res.setEncoding('utf8');
      res.once('error', reject);
      let ended = false;
      const opened = (first: string) =>
        resolve({
          status: res.statusCode!,
          headers: res.headers,
          first,
          res,
          rest: () => (ended ? Promise.resolve('') : readRest(res)),
          hangUp: () => req.destroy(),
        });
      res.once('data', (chunk: string) => {
        res.pause();
        opened(chunk);
      });
      res.once('end', () => {
        ended = true;
        opened('');
      });
    });
    req.once('error', reject);
  });
}

function readRest(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.on('data', (chunk: string) => (text += chunk));
    // 'aborted' with no 'end': the server cut the stream short.
    res.once('aborted', () => reject(new Error('the export stopped before its end')));
    res.once('error', reject);
    res.once('end', () => resolve(text));
    res.resume();
  });
}

export function parseNdjson(text: string): TodoJson[] {
  assert.ok(text === '' || text.endsWith('\n'), 'every NDJSON line ends with a newline');
  return text
    .split('\n')
    .slice(0, -1)
    .map((line) => JSON.parse(line) as TodoJson);
}

/** A CSV export read strictly (RFC 4180), its cells restored as an import would, back to the API's shape. */
export function parseCsv(text: string): TodoJson[] {
  const records: string[][] = parse(text, { relax_quotes: false, relax_column_count: false, record_delimiter: '\r\n' });
  assert.deepEqual(records[0], ['id', 'content', 'is_finished', 'created_at', 'updated_at', 'finished_at']);
  return records.slice(1).map((cells) => {
    const [id, content, isFinished, createdAt, updatedAt, finishedAt] = cells.map(restoredCell) as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    assert.ok(isFinished === 'true' || isFinished === 'false', `is_finished is true or false, not ${isFinished}`);
    return {
      id,
      content,
      is_finished: isFinished === 'true',
      created_at: createdAt,
      updated_at: updatedAt,
      finished_at: finishedAt === '' ? null : finishedAt,
    };
  });
}
