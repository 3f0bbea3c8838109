import { createHash } from 'node:crypto';
import type { Response } from 'express';

/**
 * Sends a body with a weak ETag of its bytes; Express answers 304 by itself
 * when If-None-Match matches.
 */
export function sendTagged(res: Response, type: string, body: string, cacheControl: string): void {
  const tag = createHash('sha1').update(body).digest('base64url');
  res.set({ ETag: `W/"${tag}"`, 'Cache-Control': cacheControl });
  res.type(type).send(body);
}
