import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify/sync';
import type { Request, Response } from 'express';
import type pg from 'pg';
import type Cursor from 'pg-cursor';
import type { Deps } from '../deps';
import { leaveUntimed } from '../metrics';
import type { ExportSlot, exportSlots } from './export-slots';
import { EXPORT_BEGIN, exportCursor, type ExportRow } from './queries';

export type ExportFormat = 'ndjson' | 'csv';

// Rows per read: 200 to 2,000 took the same time here; 500 keeps a chunk
// under 1 MB however long the todos are.
const CHUNK_ROWS = 500;

export const CSV_COLUMNS = ['id', 'content', 'is_finished', 'created_at', 'updated_at', 'finished_at'] as const;

/**
 * Against spreadsheet formula injection (OWASP, "CSV Injection"): a cell
 * that begins with =, +, -, @, a tab or a carriage return gets one
 * apostrophe (') in front, and so does a cell that already begins with an
 * apostrophe, so the rule reads back one way: an import removes exactly one
 * leading apostrophe from every cell that has one (restoredCell).
 */
const FORMULA_START = /^[=+\-@\t\r']/;
export const neutralisedCell = (cell: string) => (FORMULA_START.test(cell) ? `'${cell}` : cell);
export const restoredCell = (cell: string) => (cell.startsWith("'") ? cell.slice(1) : cell);

// RFC 4180: CRLF between records, and quotes around any field holding a
// comma, a quote or a line break (csv-stringify quotes a lone \n or \r only
// when asked to, once the delimiter is CRLF).
const csvLines = (records: string[][]) => stringify(records, { record_delimiter: 'windows', quote_record_delimiter: true });

const csvCells = (t: ExportRow): string[] =>
  [t.id, t.content, String(t.is_finished), t.created_at, t.updated_at, t.finished_at ?? ''].map(neutralisedCell);

// Each line is the todo exactly as the API writes it.
const FORMATS: Record<ExportFormat, { type: string; head: string; encode: (rows: ExportRow[]) => string }> = {
  ndjson: {
    type: 'application/x-ndjson; charset=utf-8',
    head: '',
    encode: (rows) => rows.map((t) => `${JSON.stringify(t)}\n`).join(''),
  },
  csv: {
    type: 'text/csv; charset=utf-8',
    head: csvLines([[...CSV_COLUMNS]]),
    encode: (rows) => csvLines(rows.map(csvCells)),
  },
};

/**
 * The rows as text, read from the cursor only when the response wants more:
 * pipeline() stops calling _read while the socket is full and resumes on its
 * 'drain', so a chunk or two is all an export holds in memory. Whatever ends
 * the stream early (the client leaving, a database error) destroys the
 * connection rather than returning it to the pool mid-transaction.
 */
class ExportStream extends Readable {
  failure: Error | undefined;
  private finished = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly cursor: Cursor<ExportRow>,
    private first: ExportRow[] | undefined,
    private head: string,
    private readonly encode: (rows: ExportRow[]) => string,
    private readonly slot: ExportSlot,
  ) {
    super();
  }

  override _read(): void {
    this.next().catch((err: Error) => {
      // Once destroyed (the client left), the connection was dropped on purpose.
      if (this.destroyed) return;
      this.failure = err;
      this.destroy(err);
    });
  }

  private async next(): Promise<void> {
    const rows = this.first ?? (await this.cursor.read(CHUNK_ROWS));
    this.first = undefined;
    if (this.destroyed) return;
    const text = this.head + this.encode(rows);
    this.head = '';
    if (rows.length === CHUNK_ROWS) {
      this.push(text);
      return;
    }
    // A short read is the last one.
    await this.cursor.close();
    await this.client.query('COMMIT');
    this.finished = true;
    this.client.release();
    this.slot.release();
    if (this.destroyed) return;
    if (text) this.push(text);
    this.push(null);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (!this.finished) this.client.release(err ?? new Error('export ended early'));
    this.slot.release();
    callback(err);
  }
}

/**
 * Streams every todo of the user, newest first, from one snapshot (a single
 * cursor in a read-only transaction), holding one of the user's export
 * slots until the stream ends. Problems found before the first byte are
 * thrown as usual; after it, the response is cut short, so the client sees
 * an incomplete transfer rather than a short file that looks whole.
 */
export async function exportTodos(
  deps: Deps,
  slots: ReturnType<typeof exportSlots>,
  req: Request,
  res: Response,
  userId: string,
  format: ExportFormat,
): Promise<void> {
  const { type, head, encode } = FORMATS[format];
  const headers = {
    'Content-Type': type,
    'Content-Disposition': `attachment; filename="todos-${new Date().toISOString().slice(0, 10)}.${format}"`,
    'Cache-Control': 'no-store',
  };
  // What a download would be, without reading the whole list for nothing.
  if (req.method === 'HEAD') {
    res.status(200).set(headers).end();
    return;
  }
  const count = (outcome: 'done' | 'aborted' | 'failed' | 'refused') => deps.metrics.todoExports.inc({ format, outcome });
  const slot = await slots.take(userId).catch((err: unknown) => {
    count('refused');
    throw err;
  });
  let client: pg.PoolClient | undefined;
  let cursor: Cursor<ExportRow>;
  let first: ExportRow[];
  try {
    client = await deps.db.connect();
    await client.query(EXPORT_BEGIN);
    cursor = client.query(exportCursor(userId));
    first = await cursor.read(CHUNK_ROWS);
  } catch (err) {
    client?.release(err as Error);
    slot.release();
    count('failed');
    throw err;
  }

  leaveUntimed(res);
  res.status(200).set(headers);
  const source = new ExportStream(client, cursor, first, head, encode, slot);
  try {
    await pipeline(source, res);
    count('done');
  } catch (err) {
    if (source.failure) {
      count('failed');
      req.log.error({ err }, 'export failed');
    } else {
      count('aborted');
    }
  }
}
