import { randomUUID } from 'node:crypto';
import type { Deps } from '../deps';
import { AppError } from '../errors';

/**
 * An export holds a database connection and a transaction for as long as it
 * streams, so one user may run only a few at once, counted across every
 * worker in the durable Redis.
 */
export const EXPORTS_PER_USER = 2;
// A worker that dies mid-export cannot give its slot back: the slot lapses
// this long after its last renewal. A running export renews it three times
// per lifetime, so a Redis hiccup of a few seconds does not lose it.
export const SLOT_TTL_MS = 60_000;
const RENEW_EVERY_MS = SLOT_TTL_MS / 3;
// A 200,000-todo export takes about two seconds here: by then a slot is free.
const RETRY_AFTER_SECONDS = 5;

/**
 * Exports one worker runs at once, of all users: each holds one of the
 * worker's PostgreSQL connections, and half of them stay for everything else.
 */
export const exportsPerWorker = (poolMax: number) => Math.max(1, Math.floor(poolMax / 2));

/** A user's running exports: a sorted set of slot ids, scored by when each lapses. */
export const exportSlotsKey = (userId: string) => `export:slots:${userId}`;

// Redis's clock, not the workers', decides when a slot lapses.
const NOW_MS = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
// KEYS[1] the user's slots; ARGV slot id, most slots, TTL (ms). 1: granted.
const TAKE = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;
// KEYS[1] the user's slots; ARGV slot id, TTL (ms). A slot already lapsed stays gone.
const RENEW = `${NOW_MS}
if redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

export type ExportSlot = { release(): void };

const tooManyExports = () =>
  new AppError({
    status: 429,
    code: 'too-many-exports',
    title: 'Too many requests',
    detail: `At most ${EXPORTS_PER_USER} exports of one account may run at once; retry when one has finished.`,
    retryable: true,
    headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  });

const workerBusy = () =>
  new AppError({
    status: 503,
    code: 'exports-busy',
    title: 'Service temporarily unavailable',
    detail: 'This server is running as many exports as it may at once; retry shortly.',
    retryable: true,
    headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  });

/**
 * Takes one of the user's export slots or throws a 429 (a 503 while the
 * worker runs as many exports as it may). While Redis is away (the breaker
 * answers at once), each worker counts in its own memory, as the log-in
 * limits do: with W workers a user may then run up to W times the limit. A
 * slot taken in Redis that cannot be given back lapses after its TTL.
 */
export function exportSlots(deps: Pick<Deps, 'breaker' | 'config'>): { take(userId: string): Promise<ExportSlot> } {
  const local = new Map<string, number>();
  const mostHere = exportsPerWorker(deps.config.pg.poolMax);
  let runningHere = 0;

  const takeLocal = (userId: string): ExportSlot => {
    const running = local.get(userId) ?? 0;
    if (running >= EXPORTS_PER_USER) throw tooManyExports();
    local.set(userId, running + 1);
    return once(() => {
      const left = (local.get(userId) ?? 1) - 1;
      if (left > 0) local.set(userId, left);
      else local.delete(userId);
    });
  };

  const takeForUser = async (userId: string): Promise<ExportSlot> => {
    const key = exportSlotsKey(userId);
    const id = randomUUID();
    const granted = await deps.breaker.run('export_slots', (redis) => redis.eval(TAKE, 1, key, id, EXPORTS_PER_USER, SLOT_TTL_MS));
    if (granted === undefined) return takeLocal(userId);
    if (Number(granted) !== 1) throw tooManyExports();
    const renew = setInterval(
      () => void deps.breaker.run('export_slots', (redis) => redis.eval(RENEW, 1, key, id, SLOT_TTL_MS)),
      RENEW_EVERY_MS,
    );
    renew.unref();
    return once(() => {
      clearInterval(renew);
      void deps.breaker.run('export_slots', (redis) => redis.zrem(key, id));
    });
  };

  return {
    async take(userId) {
      if (runningHere >= mostHere) throw workerBusy();
      // The user's slot first: a request over the user's own limit is a 429
      // and never counts against the worker, however many arrive at once.
      const slot = await takeForUser(userId);
      // Checked again after the wait, and counted in the same tick, so
      // requests that waited together cannot all get in.
      if (runningHere >= mostHere) {
        slot.release();
        throw workerBusy();
      }
      runningHere += 1;
      return once(() => {
        runningHere -= 1;
        slot.release();
      });
    },
  };
}

const once = (release: () => void): ExportSlot => {
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      release();
    },
  };
};
