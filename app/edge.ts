import { setTimeout as sleep } from 'node:timers/promises';
import type { Cache, Stamp } from './cache';
import type { Config } from './config';
import type { Purge } from './edge-purge';
import type { Logger } from './log';
import type { AdmissionOutcome } from './metrics';
import { nginxContract } from './nginx-contract';
import type { RedisBreaker } from './redis-breaker';

// nginx keeps copies of two kinds of pages in front of the app
// (nginx/snippets/*-cache.conf): anonymous public pages, and first pages of
// a list under the API token that asked for them, keyed by the token's
// SHA-256 (the digest the app stores). This file owns the protocol that
// keeps the per-token copies right. Its invariant:
//
//   a read begun after a write's answer sees the write; no copy reaches
//   another credential; nothing is served after a revocation.
//
// - Another credential: nginx files a copy under the digest of the token in
//   the request (nginx/edge-credential.js), so only that token can meet it.
// - Admission: nginx may keep a page only if the app says so
//   (X-Accel-Expires), and the app says so only after it has listed the
//   copy under its user (in the durable Redis, scored by its clock) and
//   then checked that the page's and the token's cache versions are still
//   current (in the cache's Redis). A write moves a version before it reads
//   the list: an admission listed after that read finds the version moved.
//   The answer leaves in the same tick; an admission slower than
//   ADMIT_BUDGET_MS is not sent. A token has at most MAX_COPIES_PER_TOKEN
//   copies listed, so one write purges a bounded number of keys.
// - Writes and revocations (purgeCopies, called by the list-changed hook
//   and by revocations): first move the versions (the caller does, through
//   the app cache), so no copy is admitted from then on; then wait until
//   SETTLE_MS after the newest admission, so every copy admitted before
//   the move is stored by nginx; then purge every listed copy before
//   answering, and once more REPURGE_AFTER_MS later, after which those
//   copies leave the list (unless admitted again meanwhile).
// - Refreshes: nginx serves an expired copy while it fetches the next; an
//   answer the app will not let it keep (a revoked token, an error) drops
//   that copy (drop).
// - Redis away: nothing is admitted, and a write purges the plain first
//   page of each of the user's tokens (from PostgreSQL, through the
//   caller's fallback); other copies end within their lifetime.

const ADMIT_BUDGET_MS = 50;
const SETTLE_MS = 2 * ADMIT_BUDGET_MS;
const REPURGE_AFTER_MS = 1_000;
export const MAX_COPIES_PER_TOKEN = 8;
// One write's purges use at most this many of the purge client's sockets,
// so other users' writes do not queue behind one user's fan-out.
const PURGE_CONCURRENCY = 4;

// Lists a copy, scored by Redis's clock (ms), unless its token already has
// ARGV[4] other copies listed; drops members older than the list's lifetime.
const RECORD = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  local n = 0
  for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
    if string.sub(m, 1, #ARGV[3]) == ARGV[3] then n = n + 1 end
  end
  if n >= tonumber(ARGV[4]) then return 0 end
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// Removes purged copies (member, score pairs) that were not admitted again since.
const UNLIST = `
for i = 1, #ARGV, 2 do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) == ARGV[i + 1] then redis.call('ZREM', KEYS[1], ARGV[i]) end
end
return 1`;

// nginx's $upstream_cache_status when it is refreshing a copy it holds.
const REFRESHING = new Set(['EXPIRED', 'STALE', 'UPDATING', 'REVALIDATED']);

// Only plain first-page queries are admitted (each parameter once, in plain
// characters): a purge must rebuild nginx's key byte for byte.
const ADMISSIBLE_PARAM = /^(?:limit=\d{1,3}|is_finished=(?:true|false))$/;
const admissible = (query: string) => {
  if (query === '') return true;
  const params = query.split('&');
  const names = new Set(params.map((p) => p.split('=', 1)[0]));
  return names.size === params.length && params.every((p) => ADMISSIBLE_PARAM.test(p));
};

/** The copy nginx may hold for a request: its token's digest (hex) and its query string. */
export type PrivateCopy = { credential: string; query: string };

// Every copy nginx may hold for a user, as "<token digest hex> <query>", in
// one Redis sorted set scored by when it was admitted (Redis's clock, ms).
export const privateSetKey = (userId: string) => `edge:private:${userId}`;
const privatePath = ({ credential, query }: PrivateCopy) => `/private/${credential}/api/todos${query ? `?${query}` : ''}`;
const memberOf = (copy: PrivateCopy) => `${copy.credential} ${copy.query}`;
const copyOf = (member: string): PrivateCopy => {
  const at = member.indexOf(' ');
  return { credential: member.slice(0, at), query: member.slice(at + 1) };
};

type EdgeDeps = { config: Config; log: Logger; cache: Cache; breaker: RedisBreaker; countAdmission?: (outcome: AdmissionOutcome) => void };

export class Edge {
  private readonly privateTtl: number;

  constructor(
    private readonly deps: EdgeDeps,
    private readonly purge: Purge | undefined,
  ) {
    this.privateTtl = purge ? deps.config.edgePrivateTtlSeconds : 0;
  }

  /** The copy a first-page request (its URL) made with this token (its digest) can meet in nginx. */
  copyFor(tokenDigest: Buffer, url: string): PrivateCopy {
    const at = url.indexOf('?');
    return { credential: tokenDigest.toString('hex'), query: at === -1 ? '' : url.slice(at + 1) };
  }

  /** Whether nginx says (X-Edge-Copy) it holds an expired copy of this request and serves it meanwhile. */
  isRefreshing(xEdgeCopy: string | string[] | undefined): boolean {
    return typeof xEdgeCopy === 'string' && REFRESHING.has(xEdgeCopy);
  }

  /**
   * Seconds nginx may keep this page for the token (X-Accel-Expires); 0 when
   * it may not keep this answer but a copy it holds may stay (listed, and
   * current when checked: only the check was slow); undefined when it may
   * not, and a copy it is refreshing must go (Redis away, a version moved).
   * `stamps`: the token's credential entry and the page, as read from the
   * app cache.
   */
  async admit(copy: PrivateCopy, userId: string, stamps: Array<Stamp | undefined>): Promise<number | undefined> {
    if (this.privateTtl === 0) return undefined;
    const ttl = await this.check(copy, userId, stamps);
    this.deps.countAdmission?.(ttl === undefined ? 'refused' : ttl === 0 ? 'too_slow' : 'admitted');
    return ttl;
  }

  private async check(copy: PrivateCopy, userId: string, stamps: Array<Stamp | undefined>): Promise<number | undefined> {
    if (!admissible(copy.query)) return undefined;
    if (stamps.length === 0 || stamps.some((s) => s === undefined)) return undefined;
    const listTtlMs = this.listTtlMs();
    const started = performance.now();
    const listed = await this.deps.breaker.run('edge', (r) =>
      r.eval(RECORD, 1, privateSetKey(userId), memberOf(copy), listTtlMs, `${copy.credential} `, MAX_COPIES_PER_TOKEN),
    );
    if (listed !== 1) return undefined;
    if (!(await this.deps.cache.isCurrent(stamps as Stamp[]))) return undefined;
    return performance.now() - started <= ADMIT_BUDGET_MS ? this.privateTtl : 0;
  }

  // nginx counts lifetimes in whole seconds, serves an expired copy while
  // it fetches the next, and drops unused ones after `inactive`: a listed
  // copy outlives all of that, and the purge sent again after it.
  private listTtlMs(): number {
    return (this.privateTtl + 2 + nginxContract.privateCopyInactiveSeconds) * 1000 + REPURGE_AFTER_MS + 10_000;
  }

  /**
   * The scheduled clean-up's part: removes listed copies older than any copy
   * nginx can still hold, from users who have not been admitted a copy since
   * (an admission prunes its own user's list, and idle lists expire whole).
   * Returns how many were removed.
   */
  async forgetStale(): Promise<number> {
    const redis = this.deps.breaker.redis;
    const [seconds, micros] = await redis.time();
    const cutoff = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - this.listTtlMs();
    let removed = 0;
    for await (const keys of redis.scanStream({ match: privateSetKey('*'), count: 500 }) as AsyncIterable<string[]>) {
      for (const key of keys) removed += await redis.zremrangebyscore(key, '-inf', cutoff);
    }
    return removed;
  }

  /** Drops a copy nginx is refreshing when its new answer was not admitted. */
  async drop(copy: PrivateCopy): Promise<void> {
    if (this.privateTtl === 0) return;
    await this.purge!(privatePath(copy));
  }

  /**
   * Drops every copy nginx may hold of the user's first pages, and the plain
   * first page of `alsoToken` (a token just revoked, so no longer in
   * PostgreSQL). Call it after the user's list version (a write) or the
   * token's credential entry (a revocation) has moved. `tokenDigests`: the
   * user's tokens, for when Redis is away and the list cannot be read.
   */
  async purgeCopies(userId: string, tokenDigests: () => Promise<Buffer[]>, alsoToken?: Buffer): Promise<void> {
    if (this.privateTtl === 0) return;
    const listed = await this.deps.breaker.run('edge', async (r) => {
      const results = await r.multi().zrange(privateSetKey(userId), '0', '-1', 'WITHSCORES').time().exec();
      if (!results || results.some(([err]) => err)) throw new Error('edge list read failed');
      const [flat, [seconds, micros]] = results.map(([, value]) => value) as [string[], [string, string]];
      const members = flat.filter((_, i) => i % 2 === 0);
      const newest = Math.max(0, ...flat.filter((_, i) => i % 2 === 1).map(Number));
      return { flat, members, settle: newest + SETTLE_MS - (Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)) };
    });
    const copies = listed ? listed.members.map(copyOf) : await this.plainCopies(tokenDigests);
    if (alsoToken) copies.push({ credential: alsoToken.toString('hex'), query: '' });
    if (copies.length === 0) return;
    const paths = [...new Set(copies.map(privatePath))];
    if (listed && listed.settle > 0) await sleep(listed.settle);
    await this.purgeAll(paths);
    setTimeout(() => {
      void this.purgeAll(paths).then(() =>
        listed && listed.flat.length > 0
          ? this.deps.breaker.run('edge', (r) => r.eval(UNLIST, 1, privateSetKey(userId), ...listed.flat))
          : undefined,
      );
    }, REPURGE_AFTER_MS).unref();
  }

  /** Drops public pages (their paths, e.g. /u/<slug>) from nginx's cache. */
  async purgePublic(paths: string[]): Promise<void> {
    if (!this.purge) return;
    await this.purgeAll(paths.map((path) => `/public${path}`));
  }

  private async purgeAll(paths: string[]): Promise<void> {
    const queue = [...paths];
    const worker = async () => {
      for (let path = queue.shift(); path !== undefined; path = queue.shift()) await this.purge!(path);
    };
    await Promise.all(Array.from({ length: Math.min(PURGE_CONCURRENCY, queue.length) }, worker));
  }

  private async plainCopies(tokenDigests: () => Promise<Buffer[]>): Promise<PrivateCopy[]> {
    try {
      return (await tokenDigests()).map((d) => ({ credential: d.toString('hex'), query: '' }));
    } catch (err) {
      // The write itself is done; its answer must not turn into an error.
      this.deps.log.warn({ err: (err as Error).message }, "edge purge: could not list the user's tokens");
      return [];
    }
  }
}
