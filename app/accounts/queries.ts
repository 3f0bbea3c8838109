import type { Queryable } from '../db';
import type { Cursor } from '../todos/cursor';

export type UserRow = {
  id: string;
  email: string;
  password_hash: string;
  public_slug: string | null;
  created_at: Date;
};

export type TokenRow = { id: string; name: string; created_at: Date; last_used_at: Date | null };

const USER_COLUMNS = 'u.id, u.email, u.password_hash, u.public_slug, u.created_at';

export async function insertUser(q: Queryable, email: string, passwordHash: string): Promise<UserRow> {
  const { rows } = await q.query<UserRow>(`INSERT INTO users AS u (email, password_hash) VALUES ($1, $2) RETURNING ${USER_COLUMNS}`, [
    email,
    passwordHash,
  ]);
  return rows[0]!;
}

export async function findUserByEmail(q: Queryable, email: string): Promise<UserRow | undefined> {
  const { rows } = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE lower(u.email) = lower($1)`, [email]);
  return rows[0];
}

/** Sets the slug; also returns the one it replaces, whose public pages must go. */
export async function updatePublicSlug(q: Queryable, userId: string, slug: string | null): Promise<UserRow & { old_slug: string | null }> {
  const { rows } = await q.query<UserRow & { old_slug: string | null }>(
    `UPDATE users AS u SET public_slug = $2
       FROM (SELECT public_slug FROM users WHERE id = $1 FOR UPDATE) AS old
      WHERE u.id = $1
      RETURNING ${USER_COLUMNS}, old.public_slug AS old_slug`,
    [userId, slug],
  );
  return rows[0]!;
}

export async function insertSession(q: Queryable, idHash: Buffer, userId: string, csrfToken: string, ttlDays: number): Promise<void> {
  await q.query(
    `INSERT INTO sessions (id_hash, user_id, csrf_token, expires_at)
     VALUES ($1, $2, $3, now() + make_interval(days => $4))`,
    [idHash, userId, csrfToken, ttlDays],
  );
}

export async function findSession(
  q: Queryable,
  idHash: Buffer,
): Promise<{ user_id: string; csrf_token: string; expires_at: Date } | undefined> {
  const { rows } = await q.query<{ user_id: string; csrf_token: string; expires_at: Date }>(
    'SELECT user_id, csrf_token, expires_at FROM sessions WHERE id_hash = $1 AND expires_at > now()',
    [idHash],
  );
  return rows[0];
}

export async function findUserById(q: Queryable, id: string): Promise<UserRow | undefined> {
  const { rows } = await q.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1`, [id]);
  return rows[0];
}

/** The user's public slug; null when unpublished or the user is gone. */
export async function publicSlugOf(q: Queryable, userId: string): Promise<string | null> {
  const { rows } = await q.query<{ public_slug: string | null }>('SELECT public_slug FROM users WHERE id = $1', [userId]);
  return rows[0]?.public_slug ?? null;
}

/** Whose list is published under this slug. */
export async function userIdBySlug(q: Queryable, slug: string): Promise<string | undefined> {
  const { rows } = await q.query<{ id: string }>('SELECT id FROM users WHERE public_slug = $1', [slug]);
  return rows[0]?.id;
}

export async function deleteSession(q: Queryable, idHash: Buffer): Promise<void> {
  await q.query('DELETE FROM sessions WHERE id_hash = $1', [idHash]);
}

/** Locks the user's row until the transaction ends: writers of the user's counted things take turns. */
export async function lockUser(q: Queryable, userId: string): Promise<boolean> {
  const { rowCount } = await q.query('SELECT 1 FROM users WHERE id = $1 FOR UPDATE', [userId]);
  return rowCount === 1;
}

export async function countTokens(q: Queryable, userId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM api_tokens WHERE user_id = $1', [userId]);
  return rows[0]!.n;
}

export async function insertToken(q: Queryable, userId: string, name: string, tokenHash: Buffer): Promise<TokenRow> {
  const { rows } = await q.query<TokenRow>(
    `INSERT INTO api_tokens (user_id, name, token_hash) VALUES ($1, $2, $3)
     RETURNING id, name, created_at, last_used_at`,
    [userId, name, tokenHash],
  );
  return rows[0]!;
}

export async function findToken(q: Queryable, tokenHash: Buffer): Promise<{ id: string; user_id: string } | undefined> {
  const { rows } = await q.query<{ id: string; user_id: string }>('SELECT id, user_id FROM api_tokens WHERE token_hash = $1', [tokenHash]);
  return rows[0];
}

/** Records use at most once a minute, even if several workers try. */
export async function touchToken(q: Queryable, tokenId: string): Promise<void> {
  await q.query(
    `UPDATE api_tokens SET last_used_at = now()
      WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
    [tokenId],
  );
}

/** Oldest first, `limit` of them after the cursor's token (keyset, like the todo list). */
export async function listTokens(q: Queryable, userId: string, limit: number, after?: Cursor): Promise<TokenRow[]> {
  const { rows } = await q.query<TokenRow>(
    `SELECT id, name, created_at, last_used_at FROM api_tokens
      WHERE user_id = $1 AND ($3::timestamptz IS NULL OR (created_at, id) > ($3, $4::uuid))
      ORDER BY created_at, id LIMIT $2`,
    [userId, limit, after?.createdAt ?? null, after?.id ?? null],
  );
  return rows;
}

/** Returns the revoked token's hash, so caches keyed by it can be cleared. */
export async function deleteToken(q: Queryable, userId: string, tokenId: string): Promise<Buffer | undefined> {
  const { rows } = await q.query<{ token_hash: Buffer }>('DELETE FROM api_tokens WHERE id = $1 AND user_id = $2 RETURNING token_hash', [
    tokenId,
    userId,
  ]);
  return rows[0]?.token_hash;
}

/** The digests of a user's live API tokens. */
export async function tokenDigests(q: Queryable, userId: string): Promise<Buffer[]> {
  const { rows } = await q.query<{ token_hash: Buffer }>('SELECT token_hash FROM api_tokens WHERE user_id = $1', [userId]);
  return rows.map((r) => r.token_hash);
}

/**
 * Removes up to `batch` sessions past their expiry (the scheduled clean-up
 * calls it until it returns less than `batch`, so no statement runs long).
 */
export async function deleteExpiredSessions(q: Queryable, batch: number): Promise<number> {
  const { rowCount } = await q.query(
    'DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions WHERE expires_at < now() LIMIT $1)',
    [batch],
  );
  return rowCount ?? 0;
}
