import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisBreaker } from './redis-breaker';

// Cache-aside in Redis, with read-your-writes and one rebuild per entry at a
// time across all workers.
//
// One hash per namespace (e.g. one user's lists): field `v` holds a version
// token that every invalidation replaces, and each cached value is a field
// stamped with the version and the global epoch it was built under. A value
// whose stamps no longer match is dead; a rebuild that raced a write is
// refused by the compare-and-set in STORE. An entry is fresh until its soft
// expiry, then served stale while one request (holding a lock) rebuilds it,
// until the hash's hard TTL removes it.

export const EPOCH_KEY = 'cache:epoch';
const LOCK_MS = 3_000;
const WAIT_STEP_MS = 10;
const WAIT_MAX_MS = 1_000;
// What one namespace (one user's lists) may hold: 16 shapes of a first page
// of up to 256 Ki characters each, 4 MiB at most. A first page of 100 todos
// of 1,000 characters is about 110 Ki; one of control characters, each
// escaped twice, reaches 720 Ki and is not kept.
export const MAX_VALUES_PER_NAMESPACE = 16;
export const MAX_ENTRY_CHARS = 256 * 1024;

export type CacheStatus = 'HIT' | 'MISS' | 'STALE' | 'BYPASS';
type Entry<T> = { value: T; epoch: string; version: string; freshUntil: number };
/** The namespace version and epoch a value was read or built under. */
export type Stamp = { ns: string; version: string; epoch: string };
export type Cached<T> = { value: T | undefined; status: CacheStatus; stamp?: Stamp };

// A namespace holds at most ARGV[6] values (plus its version): one user
// cannot make the cache hold more than that, whatever shapes they ask for.
const STORE = `
local v = redis.call('HGET', KEYS[1], 'v') or ''
local e = redis.call('GET', KEYS[2]) or '0'
if v ~= ARGV[1] or e ~= ARGV[2] then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 0 and redis.call('HLEN', KEYS[1]) > tonumber(ARGV[6]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

const INVALIDATE = `
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// Whether every stamp is still current: the epoch and each namespace's version.
const IS_CURRENT = `
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
for i = 2, #KEYS do
  if (redis.call('HGET', KEYS[i], 'v') or '') ~= ARGV[i] then return 0 end
end
return 1`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** `signingKey`: values are signed with it, so one written by anyone else is never served (see sign). */
export type CacheOptions = { softTtlMs: number; hardTtlMs: number; jitter: number; signingKey: string };

/** The Redis hash of a namespace, and the lock of one of its values. */
export const hashKey = (ns: string) => `cache:${ns}`;
export const lockKey = (ns: string, field: string) => `cache:lock:${ns}:${field}`;
/** The hash field that holds a value (the hash's own field `v` holds its version). */
export const valueField = (field: string) => `f:${field}`;

// The cache is only ever a copy of PostgreSQL: a value anyone else wrote
// into Redis (a forged credential entry, say) fails this check and is
// treated as missing, so the request goes to PostgreSQL.
const signature = (key: string, ns: string, field: string, json: string) =>
  createHmac('sha256', key).update(`${ns}\n${field}\n${json}`).digest();

/** A stored value: `<HMAC, base64url>.<json>`. */
export const signedValue = (key: string, ns: string, field: string, json: string) =>
  `${signature(key, ns, field, json).toString('base64url')}.${json}`;

/** The JSON of a stored value, or undefined unless it was signed with `key` for this namespace and field. */
export function verifiedValue(key: string, ns: string, field: string, raw: string): string | undefined {
  const dot = raw.indexOf('.');
  if (dot <= 0) return undefined;
  const json = raw.slice(dot + 1);
  const given = Buffer.from(raw.slice(0, dot), 'base64url');
  const expected = signature(key, ns, field, json);
  return given.length === expected.length && timingSafeEqual(given, expected) ? json : undefined;
}

/** Hears each look-up's result; `cache` is the namespace's kind (what precedes its first colon: todos, auth). */
export type CacheCounter = (cache: string, status: CacheStatus) => void;

export class Cache {
  constructor(
    private readonly breaker: RedisBreaker,
    private readonly options: CacheOptions,
    private readonly count: CacheCounter = () => undefined,
  ) {}

  /**
   * The cached value for (ns, field), or `load`'s. `load` returns undefined
   * for something not worth caching (it is then loaded again next time).
   */
  async get<T>(ns: string, field: string, load: () => Promise<T | undefined>): Promise<Cached<T>> {
    const got = await this.lookUp(ns, field, load);
    this.count(ns.slice(0, ns.indexOf(':')), got.status);
    return got;
  }

  private async lookUp<T>(ns: string, field: string, load: () => Promise<T | undefined>): Promise<Cached<T>> {
    const seen = await this.read<T>(ns, field);
    if (!seen) return { value: await load(), status: 'BYPASS' };
    const { entry, version, epoch } = seen;
    // A value loaded now is at least as new as the version read before it.
    const stamp: Stamp = { ns, version, epoch };
    if (entry && entry.freshUntil > Date.now()) return { value: entry.value, status: 'HIT', stamp };

    const lock = lockKey(ns, field);
    const token = randomBytes(12).toString('base64url');
    const locked = await this.breaker.run('cache', (r) => r.set(lock, token, 'PX', LOCK_MS, 'NX'));
    if (locked === 'OK') {
      try {
        // Someone may have rebuilt it between our read and our lock.
        const again = await this.read<T>(ns, field);
        const latest: Stamp = again ? { ns, version: again.version, epoch: again.epoch } : stamp;
        if (again?.entry && again.entry.freshUntil > Date.now()) return { value: again.entry.value, status: 'HIT', stamp: latest };
        const value = await load();
        if (value) await this.store(ns, field, value, latest.version, latest.epoch);
        return { value, status: 'MISS', stamp: latest };
      } finally {
        await this.breaker.run('cache', (r) => r.eval(RELEASE, 1, lock, token));
      }
    }
    if (entry) return { value: entry.value, status: 'STALE', stamp };
    if (locked === undefined) return { value: await load(), status: 'BYPASS' };
    // Someone else is building it: wait briefly rather than pile onto PostgreSQL.
    for (let waited = 0; waited < WAIT_MAX_MS; waited += WAIT_STEP_MS) {
      await sleep(WAIT_STEP_MS);
      const again = await this.read<T>(ns, field);
      if (!again) break;
      if (again.entry) return { value: again.entry.value, status: 'HIT', stamp: { ns, version: again.version, epoch: again.epoch } };
    }
    return { value: await load(), status: 'MISS', stamp };
  }

  /**
   * Whether no stamp has been invalidated since it was read: false once a
   * write moved a version (or the epoch moved); undefined when Redis is away.
   */
  async isCurrent(stamps: Stamp[]): Promise<boolean | undefined> {
    const epoch = stamps[0]?.epoch;
    if (epoch === undefined || stamps.some((s) => s.epoch !== epoch)) return false;
    const done = await this.breaker.run('cache', (r) =>
      r.eval(IS_CURRENT, 1 + stamps.length, EPOCH_KEY, ...stamps.map((s) => hashKey(s.ns)), epoch, ...stamps.map((s) => s.version)),
    );
    return done === undefined ? undefined : done === 1;
  }

  /** Kills every value in the namespace; resolves once Redis has it (or it is noted as missed). */
  async invalidate(ns: string): Promise<boolean> {
    const done = await this.breaker.run('cache', (r) =>
      r.eval(INVALIDATE, 1, hashKey(ns), randomBytes(12).toString('base64url'), this.options.hardTtlMs),
    );
    if (done === undefined) this.breaker.noteMissedInvalidation();
    return done !== undefined;
  }

  private async read<T>(ns: string, field: string) {
    const got = await this.breaker.run('cache', async (r) => {
      const results = await r.pipeline().get(EPOCH_KEY).hmget(hashKey(ns), 'v', valueField(field)).exec();
      if (!results || results.some(([err]) => err)) throw new Error('cache read failed');
      return results.map(([, value]) => value);
    });
    if (!got) return undefined;
    const epoch = (got[0] as string | null) ?? '0';
    const [version, raw] = (got[1] as (string | null)[]).map((x) => x ?? '');
    const json = raw ? verifiedValue(this.options.signingKey, ns, field, raw) : undefined;
    const entry = json ? (JSON.parse(json) as Entry<T>) : undefined;
    const alive = entry && entry.version === version && entry.epoch === epoch;
    return { entry: alive ? entry : undefined, version: version ?? '', epoch };
  }

  private async store<T>(ns: string, field: string, value: T, version: string, epoch: string): Promise<void> {
    const { softTtlMs, hardTtlMs, jitter } = this.options;
    // Jitter spreads the expiries of entries built together.
    const soft = Math.round(softTtlMs * (1 - jitter + Math.random() * 2 * jitter));
    const entry = signedValue(
      this.options.signingKey,
      ns,
      field,
      JSON.stringify({ value, epoch, version, freshUntil: Date.now() + soft } satisfies Entry<T>),
    );
    // A value this large is served, not kept: it would cost the cache more
    // than it saves PostgreSQL.
    if (entry.length > MAX_ENTRY_CHARS) return;
    await this.breaker.run('cache', (r) =>
      r.eval(STORE, 2, hashKey(ns), EPOCH_KEY, version, epoch, valueField(field), entry, hardTtlMs, MAX_VALUES_PER_NAMESPACE),
    );
  }
}
