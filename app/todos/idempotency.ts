import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import type { Deps } from '../deps';
import { transaction, type Queryable } from '../db';
import { AppError } from '../errors';

export type StoredResponse = { status: number; body: unknown; location: string | null };

export const requestHash = (method: string, path: string, input: unknown) =>
  createHash('sha256')
    .update(`${method} ${path}\n${JSON.stringify(input)}`)
    .digest();

/**
 * Runs `create` at most once per (user, key) within 24 h. The key's row is
 * written in the same transaction as the effect: a concurrent retry waits on
 * the row's lock and then replays the committed response; a failed attempt
 * rolls back and leaves the key free.
 */
export async function once(
  deps: Deps,
  userId: string,
  key: string,
  hash: Buffer,
  create: (client: PoolClient) => Promise<StoredResponse>,
): Promise<StoredResponse & { replayed: boolean }> {
  return transaction(deps.db, async (client) => {
    const claimed = await client.query(
      `INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES ($1, $2, $3)
       ON CONFLICT (user_id, key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, status_code = NULL, response_body = NULL,
             location = NULL, created_at = now()
         WHERE idempotency_keys.created_at < now() - interval '24 hours'
       RETURNING 1`,
      [userId, key, hash],
    );
    if (claimed.rowCount === 1) {
      const response = await create(client);
      await client.query(
        `UPDATE idempotency_keys SET status_code = $3, response_body = $4, location = $5
          WHERE user_id = $1 AND key = $2`,
        [userId, key, response.status, JSON.stringify(response.body), response.location],
      );
      return { ...response, replayed: false };
    }

    const { rows } = await client.query<{ request_hash: Buffer; status_code: number; response_body: unknown; location: string | null }>(
      'SELECT request_hash, status_code, response_body, location FROM idempotency_keys WHERE user_id = $1 AND key = $2',
      [userId, key],
    );
    const previous = rows[0]!;
    if (!previous.request_hash.equals(hash)) {
      throw new AppError({
        status: 422,
        code: 'idempotency-key-reused',
        title: 'Idempotency key reused',
        detail: 'This Idempotency-Key was already used with a different request; use a new key for a new request.',
        errors: [
          {
            field: 'Idempotency-Key',
            message: 'was used for a different request body',
            expected: 'a new key, or the same body as the first request',
          },
        ],
      });
    }
    return { status: previous.status_code, body: previous.response_body, location: previous.location, replayed: true };
  });
}

/** Removes up to `batch` keys older than their 24 h replay window (see `once`). */
export async function deleteExpiredKeys(q: Queryable, batch: number): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM idempotency_keys WHERE (user_id, key) IN (
       SELECT user_id, key FROM idempotency_keys WHERE created_at < now() - interval '24 hours' LIMIT $1)`,
    [batch],
  );
  return rowCount ?? 0;
}
