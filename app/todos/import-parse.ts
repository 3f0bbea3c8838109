import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { csvHeaderKind, csvRecords } from './import-csv';
import { lineRecord, type ImportRecord } from './import-line';

export type ImportFormat = 'ndjson' | 'csv';

const NOT_JSON_OBJECT = "expected one JSON object per line, like the lines of this app's export";

/**
 * The records of an upload, one per line that holds a todo, in file order:
 * the todo, or why the line is not one. Blank lines yield nothing. The same
 * upload always yields the same records with the same line numbers, so an
 * import can resume after the records it has done.
 */
export function parseImport(upload: Buffer, format: ImportFormat): Iterable<ImportRecord> {
  // Keys of lines that name neither an id nor a time come from the file itself.
  const digest = createHash('sha256').update(upload).digest();
  return format === 'csv' ? csvRecords(upload, digest) : ndjsonRecords(upload, digest);
}

function* ndjsonRecords(upload: Buffer, digest: Buffer): Generator<ImportRecord> {
  for (const { line, text } of textLines(upload)) {
    if (text === undefined) {
      yield { line, errors: ['is not UTF-8 text'] };
      continue;
    }
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      yield { line, errors: [`is not valid JSON (${(err as Error).message}): ${NOT_JSON_OBJECT}`] };
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      yield { line, errors: [`is not a JSON object: ${NOT_JSON_OBJECT}`] };
      continue;
    }
    yield lineRecord(value as Record<string, unknown>, line, digest);
  }
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const afterBom = (upload: Buffer) => (upload.subarray(0, 3).equals(BOM) ? 3 : 0);

/**
 * The upload's lines as text, undefined for a line that is not UTF-8. A
 * valid upload is decoded once and cut, which costs far less than a decode
 * per line; a multi-byte character never holds a 0x0a byte, so cutting the
 * bytes of an invalid one at 0x0a finds the same lines.
 */
function* textLines(upload: Buffer): Generator<{ line: number; text: string | undefined }> {
  if (isUtf8(upload)) {
    const text = upload.toString('utf8', afterBom(upload));
    for (let line = 1, start = 0; start < text.length; line++) {
      const nl = text.indexOf('\n', start);
      const end = nl === -1 ? text.length : nl;
      yield { line, text: text.slice(start, end) };
      start = end + 1;
    }
    return;
  }
  for (let line = 1, start = afterBom(upload); start < upload.length; line++) {
    const nl = upload.indexOf(0x0a, start);
    const end = nl === -1 ? upload.length : nl;
    const bytes = upload.subarray(start, end);
    yield { line, text: isUtf8(bytes) ? bytes.toString('utf8') : undefined };
    start = end + 1;
  }
}

/**
 * How many records parseImport can yield, counted without parsing, for
 * refusing a file over the line limit before it is queued: the non-blank
 * lines of NDJSON (exactly its records), the non-blank CSV rows after the
 * header (a line break inside a quoted cell does not start a row). Rows
 * that the CSV import skips (Todoist's sections and notes) are counted.
 */
export function countLines(upload: Buffer, format: ImportFormat): number {
  let rows = 0;
  let blank = true;
  // CSV only: inside a quoted cell; at the start of a cell; just after a quote that may close a cell.
  let quoted = false;
  let cellStart = true;
  let closing = false;
  for (let i = afterBom(upload); i < upload.length; i++) {
    const byte = upload[i]!;
    if (format === 'csv') {
      if (quoted) {
        if (byte === 0x22) [quoted, closing] = [false, true];
        continue;
      }
      // "" inside a quoted cell is a quote, and the cell goes on.
      if (byte === 0x22 && (cellStart || closing)) {
        [quoted, blank, cellStart, closing] = [true, false, false, false];
        continue;
      }
      closing = false;
      cellStart = byte === 0x2c || byte === 0x0a;
      if (byte === 0x2c) continue;
    }
    if (byte === 0x0a) {
      if (!blank) rows++;
      blank = true;
    } else if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) {
      blank = false;
    }
  }
  if (!blank) rows++;
  return format === 'csv' ? Math.max(0, rows - 1) : rows;
}

const NDJSON_TYPES = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/jsonlines',
  // A one-line JSON object is a one-line NDJSON file.
  'application/json',
]);
// Browsers on Windows with Excel installed send .csv files as application/vnd.ms-excel.
const CSV_TYPES = new Set(['text/csv', 'application/csv', 'text/comma-separated-values', 'application/vnd.ms-excel']);
// What browsers and clients send when they do not know the file's type.
const GENERIC_TYPES = new Set(['', 'text/plain', 'application/octet-stream']);

/**
 * The format of an upload: from its Content-Type when that names one, else,
 * for a type that says nothing, from its first non-blank line (a JSON object,
 * or a CSV header this import knows). Undefined: not a format it reads.
 */
export function importFormat(contentType: string | undefined, upload: Buffer): ImportFormat | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (NDJSON_TYPES.has(type)) return 'ndjson';
  if (CSV_TYPES.has(type)) return 'csv';
  if (!GENERIC_TYPES.has(type)) return undefined;
  for (const { text } of textLines(upload)) {
    const first = (text ?? '').trim();
    if (first === '') continue;
    if (first.startsWith('{')) return 'ndjson';
    const cells = first.split(',').map((c) => c.trim().replace(/^"(.*)"$/, '$1'));
    return csvHeaderKind(cells) ? 'csv' : undefined;
  }
  return undefined;
}
