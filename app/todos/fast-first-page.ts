import type { IncomingMessage, ServerResponse } from 'node:http';
import querystring from 'node:querystring';
import fresh from 'fresh';
import type { RedisStore } from 'rate-limit-redis';
import { resolveCaller } from '../accounts/auth';
import type { Deps } from '../deps';
import { admitPrivate, dropPrivate, privateCopyOf } from '../edge';
import { requestId } from '../log';
import { redisStore } from '../rate-limits';
import { securityHeaderList } from '../security-headers';
import { listQuery, type ListQuery } from './schema';
import { renderPage } from './service';

// The hottest request by far, a client opening its list, answered without
// Express's router and middleware chain (measured: Express's own work was
// most of the CPU per request). Same auth, cache, limit, headers, ETag and
// log line as the Express route; anything unusual (an error, a deeper page,
// a throttled or draining client) goes on to Express, which answers it in full.

const PATH = '/api/todos';
// nginx's $upstream_cache_status when it has a copy for the request's key.
const EXPIRED_COPY = new Set(['EXPIRED', 'STALE', 'UPDATING', 'REVALIDATED']);
const ROUTE_LABEL = '/api/todos/';

export const isFirstPageRequest = (req: IncomingMessage) =>
  req.method === 'GET' && (req.url === PATH || req.url?.startsWith(`${PATH}?`) === true);

/** The first-page query, parsed exactly as Express would; undefined for anything else. */
function firstPageQuery(url: string): ListQuery | undefined {
  const at = url.indexOf('?');
  const parsed = listQuery.safeParse(at === -1 ? {} : querystring.parse(url.slice(at + 1)));
  if (!parsed.success || parsed.data.cursor || parsed.data.start !== undefined) return undefined;
  return parsed.data;
}

/** The general rate limit, counted in the same Redis keys as the Express limiter. */
function limitCheck(deps: Deps): ((userId: string) => Promise<boolean>) | undefined {
  const limit = deps.config.rateLimits.perMinute;
  if (limit === 0) return undefined;
  const store = redisStore(deps, 'rl:general:');
  store.init({ windowMs: 60_000 } as Parameters<RedisStore['init']>[0]);
  return async (userId) => {
    try {
      return (await store.increment(`user:${userId}`)).totalHits <= limit;
    } catch {
      return true; // fail open, as the Express limiter does
    }
  };
}

export function firstPageFastPath(deps: Deps): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const securityHeaders = securityHeaderList();
  const withinLimit = limitCheck(deps);

  return async (req, res) => {
    const started = performance.now();
    const query = firstPageQuery(req.url!);
    if (!query) return false;
    // A token's first page may be kept by nginx. When nginx holds an expired
    // copy (it says so in X-Edge-Copy and serves it while this request
    // refreshes it), an answer it may not keep (this one, or Express's: an
    // error, a revoked token) drops that copy.
    const copy = privateCopyOf(req.headers.authorization, req.url!);
    const nginxHoldsCopy = EXPIRED_COPY.has(String(req.headers['x-edge-copy']));
    let edgeTtl: number | undefined;
    if (copy && nginxHoldsCopy) {
      res.once('finish', () => {
        if (edgeTtl === undefined) void dropPrivate(deps, copy);
      });
    }
    if (deps.lifecycle.shuttingDown) return false;
    let page;
    try {
      const caller = await resolveCaller(deps, req);
      if (!caller || (withinLimit && !(await withinLimit(caller.userId)))) return false;
      page = await renderPage(deps, caller.userId, query);
      if (copy && caller.kind === 'token') edgeTtl = await admitPrivate(deps, copy, caller, page);
    } catch {
      return false; // Express answers it again, with the right problem
    }

    requestId(req, res);
    for (const [name, value] of securityHeaders) res.setHeader(name, value);
    res.setHeader('X-Cache', page.cache);
    res.setHeader('ETag', page.etag);
    res.setHeader('Cache-Control', 'private, no-cache');
    // Read by nginx alone (it does not pass it on); clients still revalidate.
    if (edgeTtl) res.setHeader('X-Accel-Expires', String(edgeTtl));
    if (fresh(req.headers, { etag: page.etag })) {
      res.statusCode = 304;
      res.end();
    } else {
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.setHeader('Content-Length', Buffer.byteLength(page.body));
      res.end(page.body);
    }

    // Like every successful read, logged by nginx, not here (see log.ts).
    const seconds = (performance.now() - started) / 1000;
    deps.metrics.requestDuration.observe({ method: 'GET', route: ROUTE_LABEL, status: String(res.statusCode) }, seconds);
    return true;
  };
}
