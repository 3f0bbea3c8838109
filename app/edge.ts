import http from 'node:http';
import { bearerToken } from './accounts/auth';
import { tokenDigests } from './accounts/queries';
import { digest } from './accounts/secrets';
import type { Stamp } from './cache';
import type { Deps } from './deps';

// nginx keeps two caches in front of the app (nginx/snippets/*-cache.conf):
// anonymous public pages, and first pages of a list under the API token that
// asked for them (keyed by the token's SHA-256, the digest the app stores).
// The app drops their entries through nginx's purge endpoints (loopback
// only) before it answers the write or revocation that made them wrong.

const PURGE_TIMEOUT_MS = 500;

// A private copy must reach nginx quickly after it was admitted: a read that
// took longer than this between asking and answering is sent uncacheable.
const ADMIT_BUDGET_MS = 50;
// A purge waits until this long after the newest admission before the write
// moved the cache version, so every copy admitted before that move has been
// stored by nginx and is purged, rather than stored just after the purge.
// Admissions are rare (one per copy and lifetime), so writes seldom wait.
const SETTLE_MS = 2 * ADMIT_BUDGET_MS;
// …and purges once more after this, for a copy that nginx stored later still.
const REPURGE_AFTER_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const purgeAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

/** GET of a purge URL. node:http sends the path byte for byte (fetch would re-encode the query, missing the key). */
function purgeRequest(base: string, path: string): Promise<number> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.get({
      host: url.hostname,
      port: url.port,
      path: `${url.pathname}${path}`,
      agent: purgeAgent,
      timeout: PURGE_TIMEOUT_MS,
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

async function purge(deps: Deps, path: string): Promise<void> {
  try {
    const status = await purgeRequest(deps.config.edgePurgeUrl!, path);
    // 404: nothing cached under that key, which is fine.
    if (status !== 200 && status !== 404) deps.log.warn({ path, status }, 'edge purge refused');
  } catch (err) {
    deps.log.warn({ path, err: (err as Error).message }, 'edge purge failed');
  }
}

// --- public pages --------------------------------------------------------------

// The URLs nginx caches for a slug that change when its owner writes: the
// page and the JSON, first page (deeper pages expire by themselves).
export const publicPaths = (slug: string) => [`/u/${slug}`, `/api/public/${slug}/todos`];

/**
 * Drops a slug's first pages from nginx's cache before the owner's write is
 * answered, so the next anonymous reader sees the change. A failed purge is
 * logged and costs at most the pages' one-to-two-second lifetime.
 */
export async function purgePublic(deps: Deps, ...slugs: Array<string | null | undefined>): Promise<void> {
  if (!deps.config.edgePurgeUrl) return;
  const paths = slugs.filter((s): s is string => typeof s === 'string').flatMap(publicPaths);
  await Promise.all(paths.map((path) => purge(deps, `/public${path}`)));
}

// --- private first pages ----------------------------------------------------------

// How long nginx keeps a copy nobody asks for (inactive= in
// nginx/snippets/private-cache-zone.conf): an expired copy is still served
// once more while it is fetched again, so the list must outlive that too.
const EDGE_INACTIVE_SECONDS = 20;

/** The copy nginx may hold for a request: a first page asked for with an API token. */
export type PrivateCopy = { credential: string; query: string };

// Only plain first-page queries are admitted (each parameter once, in plain
// characters): the purge must rebuild nginx's key byte for byte, and the
// list of a user's copies stays small.
const ADMISSIBLE_PARAM = /^(?:limit=\d{1,3}|is_finished=(?:true|false))$/;
const admissible = (query: string) => {
  if (query === '') return true;
  const params = query.split('&');
  const names = new Set(params.map((p) => p.split('=', 1)[0]));
  return names.size === params.length && params.every((p) => ADMISSIBLE_PARAM.test(p));
};

/**
 * Which copy this request can meet in nginx's cache: keyed, as in
 * nginx/edge-credential.js, by the token's SHA-256 and the query string.
 */
export function privateCopyOf(authorization: string | undefined, url: string): PrivateCopy | undefined {
  const token = bearerToken(authorization);
  if (!token) return undefined;
  const at = url.indexOf('?');
  return { credential: digest(token).toString('hex'), query: at === -1 ? '' : url.slice(at + 1) };
}

// Every copy nginx may hold for a user, as "<token digest hex> <query>", in
// one Redis sorted set, scored by when it was admitted (Redis's clock, ms),
// that outlives the copies it lists.
const privateSetKey = (userId: string) => `edge:private:${userId}`;
const privatePath = ({ credential, query }: PrivateCopy) => `/private/${credential}/api/todos${query ? `?${query}` : ''}`;
const memberOf = (copy: PrivateCopy) => `${copy.credential} ${copy.query}`;
const copyOf = (member: string): PrivateCopy => {
  const at = member.indexOf(' ');
  return { credential: member.slice(0, at), query: member.slice(at + 1) };
};

/**
 * Whether nginx may keep this first page for the token that asked, and for
 * how long: seconds for X-Accel-Expires; 0 when it may not, but any copy
 * nginx holds is listed (a slow answer); undefined when it may not and a
 * copy nginx holds must go (Redis away, or a write moved a version).
 *
 * The copy is listed for purging first, in the same Redis step that checks
 * the page and the token are still current: a write or revocation either
 * moved a version before that step (the copy is refused) or will find it in
 * the list. The caller sends the response in the same tick.
 */
export async function admitPrivate(
  deps: Deps,
  copy: PrivateCopy,
  caller: { userId: string; stamp?: Stamp | undefined },
  page: { stamp?: Stamp | undefined },
): Promise<number | undefined> {
  const ttl = deps.config.edgePrivateTtlSeconds;
  if (!deps.config.edgePurgeUrl || ttl === 0 || !caller.stamp || !page.stamp || !admissible(copy.query)) return undefined;
  // nginx counts lifetimes in whole seconds, then serves an expired copy
  // while it fetches the next, and drops unused ones after a while.
  const listTtlMs = (ttl + 2 + EDGE_INACTIVE_SECONDS) * 1000 + REPURGE_AFTER_MS + 10_000;
  const started = performance.now();
  const listed = await deps.cache.recordIfCurrent([caller.stamp, page.stamp], privateSetKey(caller.userId), memberOf(copy), listTtlMs);
  if (!listed) return undefined;
  return performance.now() - started <= ADMIT_BUDGET_MS ? ttl : 0;
}

/**
 * Drops the copy a request could have met. Sent after every token first page
 * the app answers without admitting it (a revoked token, an error, Redis
 * away, a slow answer): nginx serves an expired copy while it fetches the
 * next one, and must not keep serving it when the next one is refused.
 */
export async function dropPrivate(deps: Deps, copy: PrivateCopy): Promise<void> {
  if (!deps.config.edgePurgeUrl || deps.config.edgePrivateTtlSeconds === 0) return;
  await purge(deps, privatePath(copy));
}

/**
 * Drops every copy nginx may hold of the user's first pages, and the plain
 * first page of `alsoCredential` (a token just revoked, gone from the
 * database). Call it after the write or revocation has moved the cache
 * version it invalidates.
 *
 * If Redis is away the list cannot be read: then the plain first page goes
 * for each of the user's tokens (from PostgreSQL), which keeps read-your-writes
 * for the usual request; a copy for another query string ends within its
 * lifetime (EDGE_PRIVATE_TTL_SECONDS). Nothing new is admitted while Redis is
 * away, so there is nothing to wait for.
 */
export async function purgePrivate(deps: Deps, userId: string, alsoCredential?: Buffer): Promise<void> {
  if (!deps.config.edgePurgeUrl || deps.config.edgePrivateTtlSeconds === 0) return;
  const listed = await deps.breaker.run('edge', async (r) => {
    const results = await r.multi().zrange(privateSetKey(userId), '0', '-1', 'WITHSCORES').time().exec();
    if (!results || results.some(([err]) => err)) throw new Error('edge list read failed');
    const [flat, [seconds, micros]] = results.map(([, value]) => value) as [string[], [string, string]];
    const members = flat.filter((_, i) => i % 2 === 0);
    const newest = Math.max(0, ...flat.filter((_, i) => i % 2 === 1).map(Number));
    return { members, settle: newest + SETTLE_MS - (Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)) };
  });
  const copies = listed ? listed.members.map(copyOf) : await plainCopiesOf(deps, userId);
  if (alsoCredential) copies.push({ credential: alsoCredential.toString('hex'), query: '' });
  if (copies.length === 0) return;
  const paths = [...new Set(copies.map(privatePath))];
  if (listed && listed.settle > 0) await sleep(listed.settle);
  await Promise.all(paths.map((path) => purge(deps, path)));
  setTimeout(() => void Promise.all(paths.map((path) => purge(deps, path))), REPURGE_AFTER_MS).unref();
}

async function plainCopiesOf(deps: Deps, userId: string): Promise<PrivateCopy[]> {
  try {
    return (await tokenDigests(deps.db, userId)).map((d) => ({ credential: d.toString('hex'), query: '' }));
  } catch (err) {
    // The write itself is done; its answer must not turn into an error.
    deps.log.warn({ err: (err as Error).message }, 'edge purge: could not list the user\'s tokens');
    return [];
  }
}
