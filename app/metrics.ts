import { readFileSync, statfsSync } from 'node:fs';
import path from 'node:path';
import type { Express, Request, RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// Every process (PM2 cluster workers, the job worker) keeps its own registry
// and publishes it to Redis; /metrics merges them (app/metrics-merge.ts).
// Label values are always from a fixed set: route templates, query names,
// cache kinds, outcomes. Never a URL, an id or SQL text.

/**
 * Request latency buckets around the goals (docs/performance.md): p99 ≤ 100 ms
 * for mixed traffic, ≤ 200 ms for creates, ≤ 250 ms at 1000 connections.
 */
export const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.5, 1, 2.5];
const QUERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export type CacheStatusLabel = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';
export type PurgeOutcome = 'ok' | 'absent' | 'refused' | 'failed';
export type AdmissionOutcome = 'admitted' | 'too_slow' | 'refused';

/** What a process reports about itself besides its counters (set once its parts exist). */
export type Probes = {
  breakers: Map<string, () => boolean>;
  pool?: { totalCount: number; idleCount: number; waitingCount: number };
};

export type Metrics = {
  registry: Registry;
  requestDuration: Histogram<'method' | 'route'>;
  requests: Counter<'method' | 'route' | 'status'>;
  redisFallbacks: Counter<'reason'>;
  redisErrors: Counter<'redis'>;
  todoExports: Counter<'format' | 'outcome'>;
  queryDuration: Histogram<'query'>;
  queryErrors: Counter<'query'>;
  cacheResults: Counter<'cache' | 'result'>;
  edgeAdmissions: Counter<'outcome'>;
  edgePurges: Counter<'outcome'>;
  probes: Probes;
};

/** The release's version and the commit it was built from (dist/build-info.json, written by the build). */
export function buildInfo(): { version: string; commit: string } {
  try {
    return JSON.parse(readFileSync(path.join(__dirname, 'build-info.json'), 'utf8')) as { version: string; commit: string };
  } catch {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    return { version: pkg.version, commit: 'unknown' };
  }
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const probes: Probes = { breakers: new Map() };
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) =>
    new Counter<L>({ name, help, labelNames, registers: [registry] });

  const info = buildInfo();
  new Gauge({
    name: 'todo_stack_build_info',
    help: 'Always 1: the version and commit this process runs (a deploy shows as a change of labels)',
    labelNames: ['version', 'commit'] as const,
    registers: [registry],
  }).set(info, 1);
  new Gauge({
    name: 'metrics_workers_reporting',
    help: 'Worker processes whose metrics are in this scrape',
    registers: [registry],
    aggregator: 'sum',
    collect() {
      this.set(1);
    },
  });
  new Gauge({
    name: 'redis_breaker_open',
    help: "1 while this process's breaker for that Redis is open (it serves without Redis)",
    labelNames: ['redis'] as const,
    registers: [registry],
    collect() {
      for (const [redis, isOpen] of probes.breakers) this.set({ redis }, isOpen() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'pg_pool_connections',
    help: "This process's PostgreSQL pool: connections open (total), idle, and requests waiting for one",
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const pool = probes.pool;
      if (!pool) return;
      this.set({ state: 'total' }, pool.totalCount);
      this.set({ state: 'idle' }, pool.idleCount);
      this.set({ state: 'waiting' }, pool.waitingCount);
    },
  });

  return {
    registry,
    probes,
    requestDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from request to response, by route template (streams such as exports and events are left out)',
      labelNames: ['method', 'route'] as const,
      buckets: REQUEST_BUCKETS,
      registers: [registry],
    }),
    requests: counter('http_requests_total', 'Responses sent, by route template and status', ['method', 'route', 'status'] as const),
    redisFallbacks: counter('redis_fallbacks_total', 'Operations that went on without Redis because it was unavailable', [
      'reason',
    ] as const),
    redisErrors: counter('redis_command_errors_total', 'Redis calls that failed (each opens the breaker)', ['redis'] as const),
    todoExports: counter(
      'todo_exports_total',
      'Exports of a whole list, by format and how they ended (done, aborted by the client, failed, refused)',
      ['format', 'outcome'] as const,
    ),
    queryDuration: new Histogram({
      name: 'pg_query_duration_seconds',
      help: 'PostgreSQL queries by name (app/db.ts), from sending to the answer; _count is the number of queries',
      labelNames: ['query'] as const,
      buckets: QUERY_BUCKETS,
      registers: [registry],
    }),
    queryErrors: counter('pg_query_errors_total', 'PostgreSQL queries that failed, by name', ['query'] as const),
    cacheResults: counter(
      'app_cache_requests_total',
      'App cache look-ups by cache and result: HIT, MISS (rebuilt), STALE (served while another rebuilds), BYPASS (Redis away)',
      ['cache', 'result'] as const,
    ),
    edgeAdmissions: counter(
      'edge_copy_admissions_total',
      "Pages the app let nginx keep as a token's private copy (admitted), or not: too slow to check, or refused",
      ['outcome'] as const,
    ),
    edgePurges: counter('edge_purges_total', "Purges of nginx's copies: ok, absent (nothing cached), refused, failed", [
      'outcome',
    ] as const),
  };
}

/**
 * A response that lasts as long as its client keeps reading (an export)
 * says nothing about latency and would swamp the histogram's top bucket:
 * such a route calls this and counts itself.
 */
export const leaveUntimed = (res: Response) => {
  res.locals.untimed = true;
};

const ROUTE = Symbol('route');
const MOUNT = Symbol('mount of the route');
type MountedRequest = Request & { [ROUTE]?: unknown; [MOUNT]?: string };

/**
 * A matched route's path is relative to its router, and Express restores
 * req.baseUrl (the router's mount) when an error leaves the router: by the
 * time a 404 or 422 is sent, `/api/todos/:id` would read `/:id`. The mount
 * is remembered when Express sets req.route, by an accessor on the app's
 * request prototype (nothing allocated per request).
 */
function rememberRouteMounts(app: Express): void {
  Object.defineProperty(app.request, 'route', {
    configurable: true,
    enumerable: true,
    get(this: MountedRequest) {
      return this[ROUTE];
    },
    set(this: MountedRequest, route: unknown) {
      this[ROUTE] = route;
      this[MOUNT] = this.baseUrl;
    },
  });
}

/**
 * Counts and times every request under its route template (not its URL, so
 * label values stay bounded; unmatched paths share one value). The labelled
 * children are kept, so a request costs one map look-up per metric.
 */
export function timeRequests(app: Express, metrics: Metrics): RequestHandler {
  rememberRouteMounts(app);
  const counters = new Map<string, Counter.Internal>();
  const histograms = new Map<string, Histogram.Internal<'method' | 'route'>>();
  return (req, res, next) => {
    const started = performance.now();
    res.once('finish', () => {
      const path = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof path === 'string' ? `${(req as MountedRequest)[MOUNT] ?? req.baseUrl}${path}` : 'unmatched';
      const status = res.statusCode;
      const key = `${req.method} ${route}`;
      const counterKey = `${key} ${status}`;
      let count = counters.get(counterKey);
      if (!count) counters.set(counterKey, (count = metrics.requests.labels({ method: req.method, route, status: String(status) })));
      count.inc();
      if (res.locals.untimed === true) return;
      let time = histograms.get(key);
      if (!time) histograms.set(key, (time = metrics.requestDuration.labels({ method: req.method, route })));
      time.observe((performance.now() - started) / 1000);
    });
    next();
  };
}

/**
 * `counter.inc(labels)` for labels from a small fixed set, without hashing
 * them on every call: the labelled child is kept under `key`, which the
 * caller makes from the same values.
 */
export function preBound<L extends string>(counter: Counter<L>): (key: string, labels: Record<L, string>) => void {
  const children = new Map<string, Counter.Internal>();
  return (key, labels) => {
    let child = children.get(key);
    if (!child) children.set(key, (child = counter.labels(labels)));
    child.inc();
  };
}

/** Free and total bytes of the file system that holds the data folder (PostgreSQL's and Redis's files). */
export function watchDataFolder(registry: Registry, dir: string): void {
  new Gauge({
    name: 'data_folder_bytes',
    help: 'The file system of the data folder: bytes free (to unprivileged users) and its size',
    labelNames: ['state'] as const,
    registers: [registry],
    aggregator: 'max',
    collect() {
      try {
        const fs = statfsSync(dir);
        this.set({ state: 'free' }, fs.bavail * fs.bsize);
        this.set({ state: 'size' }, fs.blocks * fs.bsize);
      } catch {
        // Unreadable: no sample, which the alert on its absence notices.
      }
    },
  });
}
