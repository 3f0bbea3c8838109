import { hash } from 'node:crypto';
import { z } from 'zod';
import { content, isFinished } from './schema';

/** A valid line of an import, ready for insertImportBatch. */
export type ImportTodo = {
  /** The file's physical line it starts on (1-based). */
  line: number;
  /** Stored with the todo, unique per user: see importKey. */
  key: Buffer;
  /** The id the line names: a line naming one of the user's own todos is skipped. */
  sourceId: string | null;
  content: string;
  isFinished: boolean;
  createdAt: Date | null;
  finishedAt: Date | null;
};

/** What the parser yields for each line that holds a todo, in file order. */
export type ImportRecord = { line: number; todo: ImportTodo } | { line: number; errors: string[] };

// PostgreSQL has no year 0 and the ISO form no year 10000: the bounds keep
// every accepted time storable, whatever its offset.
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

const timestamp = z.iso
  .datetime({ offset: true })
  .transform((s) => new Date(s))
  .refine((d) => d.getTime() >= EARLIEST && d.getTime() <= LATEST, 'must be in the years 1 to 9999 (UTC)');

// Unknown fields are dropped, not refused: a newer export with more fields
// still imports, and updated_at (the import is the todo's latest write) is
// one of them.
const importLine = z
  .object({
    id: z
      .uuid()
      .transform((s) => s.toLowerCase())
      .nullish(),
    content,
    is_finished: isFinished.nullish(),
    created_at: timestamp.nullish(),
    finished_at: timestamp.nullish(),
  })
  .superRefine((l, ctx) => {
    if (l.finished_at && l.is_finished !== true) {
      ctx.addIssue({
        code: 'custom',
        path: ['finished_at'],
        message: 'is set, but is_finished is not true (only a finished todo has one)',
        params: { saysAll: true },
      });
    }
  });

const TIMESTAMP = 'an ISO 8601 time with its offset, e.g. 2025-01-31T09:30:00.000Z';
const EXPECTED: Record<string, string | undefined> = {
  id: "a UUID, like the ids in this app's export",
  content: content.description,
  is_finished: isFinished.description,
  created_at: TIMESTAMP,
  finished_at: `${TIMESTAMP}, or nothing`,
};

/** The field names of a line that the import reads; the others are ignored. */
export const LINE_FIELDS = Object.keys(importLine.shape);

/**
 * Validates one line's fields, as NDJSON or CSV read them, into a todo, or
 * the reasons it cannot be one: which field, what is wrong, what was
 * expected.
 */
export function lineRecord(fields: Record<string, unknown>, line: number, uploadDigest: Buffer): ImportRecord {
  const parsed = importLine.safeParse(fields);
  if (!parsed.success) {
    return {
      line,
      errors: parsed.error.issues.map((issue) => {
        const field = issue.path.join('.');
        const missing = issue.code === 'invalid_type' && fields[field] === undefined;
        const expected = issue.code === 'custom' && issue.params?.saysAll ? undefined : EXPECTED[field];
        return `${field}: ${missing ? 'is missing' : issue.message}${expected ? ` (expected ${expected})` : ''}`;
      }),
    };
  }
  const l = parsed.data;
  const todo = {
    sourceId: l.id ?? null,
    content: l.content,
    isFinished: l.is_finished ?? false,
    createdAt: l.created_at ?? null,
    finishedAt: l.finished_at ?? null,
  };
  return { line, todo: { line, key: importKey(todo, line, uploadDigest), ...todo } };
}

/**
 * The key that makes importing a line again create nothing (migration 006
 * stores it with the todo, unique per user):
 *   - a line naming an id: that id. Another account's export imported twice
 *     is skipped the second time, whatever changed in between.
 *   - else, with a created_at: the content and created_at. The same todo
 *     (the same text made at the same millisecond) is the same, in whichever
 *     file it comes again.
 *   - else: the upload's digest and the line number. The same file twice is
 *     skipped; the same text in another file is another todo, since nothing
 *     says it is the same one and lists do repeat tasks ("water the
 *     plants" in two projects). The price: a file edited and imported again
 *     brings its id-less, undated lines again.
 * A first byte tells the three apart. Only the second kind is hashed
 * (128 bits of SHA-256): hashing every line of an export cost more than
 * the rest of its parsing, and ids and digests are unique already.
 */
function importKey(todo: { sourceId: string | null; content: string; createdAt: Date | null }, line: number, uploadDigest: Buffer): Buffer {
  const key = Buffer.allocUnsafe(17);
  if (todo.sourceId) {
    key[0] = 1;
    key.write(todo.sourceId.replaceAll('-', ''), 1, 'hex');
  } else if (todo.createdAt) {
    key[0] = 2;
    // NUL cannot occur in content, so the joined text is unambiguous.
    hash('sha256', `${todo.createdAt.toISOString()}\0${todo.content}`, 'buffer').copy(key, 1, 0, 16);
  } else {
    key[0] = 3;
    // 96 bits of the file's digest (an account would need some 2^48 files for two to share them), then the line.
    uploadDigest.copy(key, 1, 0, 12);
    key.writeUInt32BE(line, 13);
  }
  return key;
}
