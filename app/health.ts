import { Router } from 'express';
import { Gauge } from 'prom-client';
import { z } from 'zod';
import type { Deps } from './deps';

// What the checks answer (described in app/health-openapi.ts).
const state = z.enum(['up', 'down']);
export const liveness = z.object({ ok: z.literal(true) }).meta({ id: 'Liveness' });
export const readiness = z
  .object({ ok: z.boolean(), postgres: state, redis: state, shutting_down: z.literal(true).optional() })
  .meta({ id: 'Readiness' });

const CHECK_TIMEOUT_MS = 1_000;

export function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('health check timed out')), CHECK_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const probe = (work: () => Promise<unknown>) =>
  withTimeout(work()).then(
    () => 'up' as const,
    () => 'down' as const,
  );

export function healthRouter(deps: Deps): Router {
  const router = Router();

  // Liveness: the process answers. Never touches a dependency, so a database
  // outage does not make the supervisor restart healthy workers.
  router.get('/health', (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ ok: true } satisfies z.output<typeof liveness>);
  });

  // Readiness: safe to route traffic here.
  router.get('/health/ready', async (_req, res) => {
    const [postgres, redis] = await Promise.all([
      probe(() => deps.db.query('SELECT /* health */ 1')),
      probe(() => Promise.all([deps.redis.ping(), deps.cacheRedis.ping()])),
    ]);
    const shuttingDown = deps.lifecycle.shuttingDown;
    const ok = !shuttingDown && postgres === 'up' && redis === 'up';
    res.set('Cache-Control', 'no-store');
    if (!ok) res.status(503).set('Retry-After', '5');
    res.json({ ok, postgres, redis, ...(shuttingDown && { shutting_down: true as const }) } satisfies z.output<typeof readiness>);
  });

  return router;
}

/**
 * Readiness as metrics, checked each time this process's metrics are
 * collected (every few seconds): health_ready is what /health/ready would
 * answer (1: 200), and each dependency's check time is beside it.
 */
export function watchReadiness(deps: Pick<Deps, 'db' | 'redis' | 'cacheRedis' | 'lifecycle' | 'metrics'>): void {
  const checks = {
    postgres: () => deps.db.query('SELECT /* health */ 1'),
    redis: () => deps.redis.ping(),
    cache_redis: () => deps.cacheRedis.ping(),
  };
  const latency = new Gauge({
    name: 'health_check_duration_seconds',
    help: 'How long the last readiness check of each dependency took (the timeout, 1 s, when it failed)',
    labelNames: ['dependency'] as const,
    registers: [deps.metrics.registry],
  });
  new Gauge({
    name: 'health_ready',
    help: '1 when this process would answer /health/ready with 200: PostgreSQL and both Redis answer, and it is not draining',
    registers: [deps.metrics.registry],
    async collect() {
      const results = await Promise.all(
        Object.entries(checks).map(async ([dependency, check]) => {
          const started = performance.now();
          const up = (await probe(check)) === 'up';
          latency.set({ dependency }, up ? (performance.now() - started) / 1000 : CHECK_TIMEOUT_MS / 1000);
          return up;
        }),
      );
      this.set(!deps.lifecycle.shuttingDown && results.every(Boolean) ? 1 : 0);
    },
  });
}
