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

/** What an If-Match header asks for: any current version, or one of these strong tags. */
export type IfMatch = { any: true } | { any: false; tags: string[] };

// One element of an If-Match list (RFC 9110 §13.1.1, §8.8.3): "*" or an
// entity-tag, weak or strong, then a comma or the end. Empty elements are
// allowed (§5.6.1).
const IF_MATCH_ELEMENT = /[ \t]*(?:(\*)|(W\/)?("[\x21\x23-\x7e\x80-\xff]*"))?[ \t]*(?:,|$)/y;

/**
 * Parses If-Match; undefined when it is not valid. Weak tags are parsed but
 * dropped: If-Match compares strongly, so they never match (§13.1.1). An
 * empty list (`If-Match:` with no value) matches nothing.
 */
export function parseIfMatch(header: string): IfMatch | undefined {
  const tags: string[] = [];
  let star = false;
  let elements = 0;
  IF_MATCH_ELEMENT.lastIndex = 0;
  while (IF_MATCH_ELEMENT.lastIndex < header.length) {
    const at = IF_MATCH_ELEMENT.lastIndex;
    const m = IF_MATCH_ELEMENT.exec(header);
    if (!m || IF_MATCH_ELEMENT.lastIndex === at) return undefined;
    if (m[1]) star = true;
    else if (m[3] && !m[2]) tags.push(m[3]);
    if (m[1] || m[3]) elements++;
  }
  // "*" stands alone; an empty list is valid and names no version.
  if (star) return elements === 1 ? { any: true } : undefined;
  return { any: false, tags };
}
