import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';

export const etagOf = (body: string) => `W/"${createHash('sha1').update(body).digest('base64url')}"`;

const opaque = (tag: string) => tag.trim().replace(/^W\//, '');

/**
 * Whether If-None-Match names this ETag (weak comparison, RFC 9110
 * §13.1.2). A request's Cache-Control does not change the answer: a client
 * that sends "no-cache" asks caches on the way to revalidate with us, and we
 * are the origin (RFC 9111 §5.2.1.4). Node's fetch sends it with every
 * conditional request, so Express's req.fresh, which gives up on it, would
 * answer them all in full.
 */
export function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => opaque(tag) === opaque(etag));
}

/** Sends a body with its ETag, or 304 with none when the client already has it. */
export function sendTagged(req: Request, res: Response, type: string, body: string, cacheControl: string, etag = etagOf(body)): void {
  res.set({ ETag: etag, 'Cache-Control': cacheControl });
  if ((req.method === 'GET' || req.method === 'HEAD') && matchesIfNoneMatch(req.get('If-None-Match'), etag)) {
    res.status(304).end();
    return;
  }
  res.type(type).send(body);
}
