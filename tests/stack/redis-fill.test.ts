import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_VALUES_PER_NAMESPACE } from '../../app/cache';
import { listKey } from '../helpers/caching';
import { stack, stackSession, stackStores, asSession as call } from '../helpers/stack';

// One self-registered user could fill Redis with first pages of odd sizes
// full of characters that JSON escapes; with the cache, the rate-limit
// counters and nginx's copy lists in one Redis that never evicts, every
// INCR then failed and log-in limits failed open. The cache has its own
// Redis now (evicting, CACHE_REDIS_MAXMEMORY: 16 MB in the tests), and one
// user's lists hold at most MAX_VALUES_PER_NAMESPACE pages.

type Session = Awaited<ReturnType<typeof stackSession>>;
const USERS = 8;
const SHAPES = MAX_VALUES_PER_NAMESPACE + 4;
const heavy = '\u0001'.repeat(1000);

describe('a user cannot fill the Redis that limits and revocations need', () => {
  it('when users fill the cache with large first pages of many sizes, then it evicts, each user holds a bounded share, and limits and revocation keep working', async (t) => {
    const { redis, cacheRedis, close } = await stackStores();
    try {
      assert.equal((await cacheRedis.config('GET', 'maxmemory-policy'))[1], 'volatile-lru', 'the cache evicts');
      assert.equal((await redis.config('GET', 'maxmemory-policy'))[1], 'noeviction', 'the durable Redis never does');
      const users: Session[] = [];
      for (let u = 0; u < USERS; u++) {
        const s = await stackSession();
        users.push(s);
        await Promise.all(Array.from({ length: 40 }, () => call(s, 'POST', '/api/todos', { content: heavy })));
        for (let limit = 20; limit < 20 + SHAPES; limit++) assert.equal((await call(s, 'GET', `/api/todos?limit=${limit}`)).status, 200);
      }
      for (const s of users) {
        assert.ok((await cacheRedis.hlen(listKey(s.id))) <= MAX_VALUES_PER_NAMESPACE + 1, 'one user holds a bounded number of pages');
      }
      const stats = await cacheRedis.info('stats');
      const evicted = Number(/evicted_keys:(\d+)/.exec(stats)?.[1]);
      t.diagnostic(
        `cache Redis: ${evicted} keys evicted; durable Redis: ${/used_memory_human:(\S+)/.exec(await redis.info('memory'))?.[1]}`,
      );
      assert.ok(evicted > 0, 'the cache made room by evicting');

      // What needs the durable Redis still works: counting failed log-ins…
      const victim = users[0]!;
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await fetch(`${stack.http}/api/session`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: victim.email, password: 'wrong password, again' }),
        });
        statuses.push(res.status);
      }
      assert.ok(statuses.includes(429), `failed log-ins are limited: ${statuses.join(' ')}`);
      // …and a revocation, which must clear the credential cache first.
      const minted = await call(users[1]!, 'POST', '/api/tokens', { name: 'to revoke' });
      const { id, token } = (await minted.json()) as { id: string; token: string };
      assert.equal((await fetch(`${stack.http}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
      assert.equal((await call(users[1]!, 'DELETE', `/api/tokens/${id}`)).status, 204);
      assert.equal((await fetch(`${stack.http}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
    } finally {
      await close();
    }
  });
});
