import { createHash } from 'node:crypto';
import type { Response } from 'express';

export const etagOf = (body: string) => `W/"${createHash('sha1').update(body).digest('base64url')}"`;

/**
 * Sends a body with a weak ETag of its bytes; Express answers 304 by itself
 * when If-None-Match matches.
 */
export function sendTagged(res: Response, type: string, body: string, cacheControl: string, etag = etagOf(body)): void {
  res.set({ ETag: etag, 'Cache-Control': cacheControl });
  res.type(type).send(body);
}
