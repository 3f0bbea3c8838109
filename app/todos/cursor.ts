// A cursor names the last row of a page by its sort key (created_at, id). It
// is opaque to clients: base64url of JSON, so its form can change later.

export type Cursor = { createdAt: Date; id: string };

// Times the API can have issued: PostgreSQL rejects some that JavaScript
// accepts, so a forged cursor must fail here, as a 422.
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.createdAt.toISOString(), c.id])).toString('base64url');
}

export function decodeCursor(raw: string): Cursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(raw)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [time, id] = value as unknown[];
  if (typeof time !== 'string' || typeof id !== 'string' || !UUID.test(id)) return undefined;
  const createdAt = new Date(time);
  const ms = createdAt.getTime();
  if (Number.isNaN(ms) || ms < EARLIEST || ms > LATEST || createdAt.toISOString() !== time) return undefined;
  return { createdAt, id };
}

/**
 * A page of a keyset list from its query's rows: the query asks for one row
 * more than `limit`, and that extra row says whether a next page exists.
 */
export function pageOf<T extends { created_at: Date; id: string }>(rows: T[], limit: number): { data: T[]; next_cursor: string | null } {
  const data = rows.slice(0, limit);
  const last = data.at(-1);
  return { data, next_cursor: rows.length > limit && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null };
}
