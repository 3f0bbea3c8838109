import { isUtf8 } from 'node:buffer';
import { CsvError, parse } from 'csv-parse/sync';
import { restoredCell } from './export';
import { LINE_FIELDS, lineRecord, type ImportRecord } from './import-line';

const OUR_COLUMNS = ['id', 'content', 'is_finished', 'created_at', 'updated_at', 'finished_at'];

const UNKNOWN_HEADER =
  `the first row is not a header this import knows: expected this app's export (${OUR_COLUMNS.join(',')}; ` +
  `only content is required) or Todoist's template (TYPE,CONTENT,DESCRIPTION,PRIORITY,…)`;

const NOT_UTF8 = 'is not UTF-8 text: save the file as CSV UTF-8 and import it again; nothing in it was imported';

// csv-parse's own messages count lines its own way (CRLF inside a quoted
// cell as two): the row's line is given beside these instead.
const FAILURES: Partial<Record<CsvError['code'], string>> = {
  CSV_QUOTE_NOT_CLOSED: 'a quoted cell starts on this row and is never closed, so nothing from here on can be read',
  CSV_INVALID_CLOSING_QUOTE:
    'a quoted cell is followed by something other than a comma or a line break (inside a quoted cell, a double quote is written twice: ""); nothing from here on can be read',
};

type Kind = 'ours' | 'todoist';

/** Which CSV a header row starts: this app's export (any columns, content among them), or Todoist's template. */
export function csvHeaderKind(cells: string[]): Kind | undefined {
  const names = cells.map((c) => c.trim().toLowerCase());
  if (names.includes('type') && names.includes('content')) return 'todoist';
  if (names.includes('content')) return 'ours';
  return undefined;
}

/**
 * The todos of a CSV upload, each with the line its row starts on. The first
 * row is the header; rows whose cells are all empty are skipped, and so are
 * Todoist's rows other than tasks (sections, notes, meta). A CSV that cannot
 * be read on yields its readable rows, then one error for the rest.
 */
export function* csvRecords(upload: Buffer, uploadDigest: Buffer): Generator<ImportRecord> {
  if (!isUtf8(upload)) {
    yield { line: firstLineNotUtf8(upload), errors: [NOT_UTF8] };
    return;
  }
  const { rows, failure } = csvRows(upload);
  const [header, ...body] = rows.filter((row) => row.cells.some((c) => c.trim() !== ''));
  if (header) {
    const kind = csvHeaderKind(header.cells);
    const names = header.cells.map((c) => c.trim().toLowerCase());
    const twice = names.find((name, i) => name !== '' && names.indexOf(name) !== i);
    if (!kind || twice !== undefined) {
      yield { line: header.line, errors: [kind ? `the header names the column ${twice} twice` : UNKNOWN_HEADER] };
      return;
    }
    const toFields = kind === 'ours' ? ourFields(names) : todoistFields(names);
    for (const { line, cells } of body) {
      const fields = toFields(cells);
      if (!fields) continue;
      if (cells.length > names.length) {
        yield {
          line,
          errors: [
            `has ${cells.length} cells, but the header names ${names.length} columns (a cell holding a comma, a double quote or a line break must be in double quotes)`,
          ],
        };
      } else {
        yield lineRecord(fields, line, uploadDigest);
      }
    }
  }
  if (failure) yield failure;
}

function ourFields(names: string[]): (cells: string[]) => Record<string, unknown> {
  return (cells) => {
    const fields: Record<string, unknown> = {};
    names.forEach((name, i) => {
      const cell = cells[i] ?? '';
      // An empty cell is a field left out, except content, whose emptiness is the error.
      if (!LINE_FIELDS.includes(name) || (cell === '' && name !== 'content')) return;
      // The export's formula guard, undone by its own inverse (app/todos/export.ts).
      if (name !== 'is_finished') fields[name] = restoredCell(cell);
      // Spreadsheets write booleans as TRUE and FALSE.
      else fields[name] = /^(true|false)$/i.test(cell) ? cell.toLowerCase() === 'true' : cell;
    });
    return fields;
  };
}

function todoistFields(names: string[]): (cells: string[]) => Record<string, unknown> | undefined {
  const type = names.indexOf('type');
  const content = names.indexOf('content');
  return (cells) => (cells[type]?.trim() === 'task' ? { content: cells[content] ?? '' } : undefined);
}

type Row = { line: number; cells: string[] };

/** Every row with the line it starts on, and the error that stopped csv-parse, if one did. */
function csvRows(upload: Buffer): { rows: Row[]; failure?: ImportRecord } {
  const lineAfter = lineFinder(upload);
  const rows: Row[] = [];
  let end = 0;
  try {
    parse(upload, {
      bom: true,
      // Cell counts are checked against the header here, with a message that says why.
      relax_column_count: true,
      // A quote inside an unquoted cell (5" screen) is text, as spreadsheets read it.
      relax_quotes: true,
      record_delimiter: ['\r\n', '\n'],
      skip_empty_lines: true,
      on_record: (cells: string[], info) => {
        rows.push({ line: lineAfter(end), cells });
        end = info.bytes;
        return null;
      },
    });
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    const reason = FAILURES[err.code] ?? `nothing from here on can be read: ${err.message}`;
    return { rows, failure: { line: lineAfter(end), errors: [reason] } };
  }
  return { rows };
}

/**
 * The line on which the row after byte `offset` starts (the empty lines
 * between rows skipped). Offsets only grow, so the file is scanned once.
 */
function lineFinder(upload: Buffer): (offset: number) => number {
  let counted = 0;
  let line = 1;
  return (offset) => {
    let start = offset;
    while (upload[start] === 0x0a || upload[start] === 0x0d) start++;
    for (let nl = upload.indexOf(0x0a, counted); nl !== -1 && nl < start; nl = upload.indexOf(0x0a, nl + 1)) line++;
    counted = start;
    return line;
  };
}

function firstLineNotUtf8(upload: Buffer): number {
  let line = 1;
  for (let start = 0; ; line++) {
    const nl = upload.indexOf(0x0a, start);
    if (!isUtf8(upload.subarray(start, nl === -1 ? upload.length : nl)) || nl === -1) return line;
    start = nl + 1;
  }
}
