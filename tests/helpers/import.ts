import { stringify } from 'csv-stringify/sync';
import { transaction, type Pool } from '../../app/db';
import { importBatches, insertImportBatch } from '../../app/todos/import-queries';
import { parseImport, type ImportFormat } from '../../app/todos/import-parse';
import type { ImportRecord } from '../../app/todos/import-line';

type ExportRow = { id: string; content: string; is_finished: boolean; created_at: Date; updated_at: Date; finished_at: Date | null };

/** A user's todos as the export lists them: every API field, newest first. */
async function exportRows(db: Pool, userId: string): Promise<ExportRow[]> {
  const { rows } = await db.query<ExportRow>(
    `SELECT id, content, is_finished, created_at, updated_at, finished_at FROM todos WHERE user_id = $1 ORDER BY created_at DESC, id DESC`,
    [userId],
  );
  return rows;
}

/** The NDJSON export of a user, written as the export route writes it. */
export async function exportNdjson(db: Pool, userId: string): Promise<Buffer> {
  return Buffer.from((await exportRows(db, userId)).map((row) => `${JSON.stringify(row)}\n`).join(''));
}

// The export's guard against spreadsheet formulas.
const neutralise = (cell: string) => (/^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell);

/** The CSV export of a user (RFC 4180: CRLF, a header row), formulas neutralised. */
export async function exportCsv(db: Pool, userId: string): Promise<Buffer> {
  const rows = (await exportRows(db, userId)).map((r) =>
    [
      r.id,
      r.content,
      String(r.is_finished),
      r.created_at.toISOString(),
      r.updated_at.toISOString(),
      r.finished_at?.toISOString() ?? '',
    ].map(neutralise),
  );
  const header = ['id', 'content', 'is_finished', 'created_at', 'updated_at', 'finished_at'];
  // csv-stringify quotes a cell holding its record delimiter, CRLF here, but
  // not one holding a bare LF or CR: RFC 4180 wants every line break quoted.
  return Buffer.from(stringify([header, ...rows], { record_delimiter: 'windows', quoted_match: /[\r\n]/ }));
}

export type ImportResult = { created: number; skipped: number; invalid: { line: number; errors: string[] }[]; batches: number };

/**
 * An upload imported the way the import job does it: parsed, cut into
 * batches, each batch inserted in a transaction of its own. The next batch
 * is parsed while PostgreSQL inserts this one: insertImportBatch has sent
 * its statement before it first waits.
 */
export async function importUpload(
  db: Pool,
  userId: string,
  upload: Buffer,
  format: ImportFormat,
  opts: { batchSize?: number; limit?: number; importedAt?: Date } = {},
): Promise<ImportResult> {
  const importedAt = opts.importedAt ?? new Date();
  const result: ImportResult = { created: 0, skipped: 0, invalid: [], batches: 0 };
  const batches = importBatches(parseImport(upload, format), opts.batchSize ?? 1000)[Symbol.iterator]();
  for (let next = batches.next(); !next.done;) {
    const batch = next.value;
    const todos = batch.flatMap((r) => ('todo' in r ? [r.todo] : []));
    const done = await transaction(db, async (client) => {
      const inserting = insertImportBatch(client, userId, todos, opts.limit ?? 250_000, { importedAt });
      next = batches.next();
      return inserting;
    });
    result.created += done.created;
    result.skipped += done.skipped;
    result.invalid.push(...batch.filter((r): r is Extract<ImportRecord, { errors: string[] }> => 'errors' in r));
    result.batches++;
  }
  return result;
}

export type ListedTodo = { content: string; is_finished: boolean; created_at: string; finished_at: string | null };

/** What a list shows of each todo (all but ids and updated_at), newest first. */
export async function listed(db: Pool, userId: string): Promise<ListedTodo[]> {
  return (await exportRows(db, userId)).map((r) => ({
    content: r.content,
    is_finished: r.is_finished,
    created_at: r.created_at.toISOString(),
    finished_at: r.finished_at?.toISOString() ?? null,
  }));
}

/** The records of an upload, as plain values to compare. */
export function parsed(upload: string | Buffer, format: ImportFormat): unknown[] {
  return [...parseImport(Buffer.from(upload), format)].map((r) =>
    'errors' in r
      ? r
      : {
          line: r.line,
          content: r.todo.content,
          is_finished: r.todo.isFinished,
          created_at: r.todo.createdAt?.toISOString() ?? null,
          finished_at: r.todo.finishedAt?.toISOString() ?? null,
          id: r.todo.sourceId,
        },
  );
}
