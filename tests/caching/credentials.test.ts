import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { randomBytes, randomUUID } from 'node:crypto';
import { authCacheKey } from '../../app/accounts/auth';
import { EPOCH_KEY, signedValue } from '../../app/cache';
import { digest } from '../../app/accounts/secrets';
import { assertProblem, signUp, tokenUser, type TestApp } from '../helpers/app';
import { logIn } from '../helpers/accounts';
import { countQueries, dropRedis, hashKey, readEntry, scanKeys, settleRedis, startCachingApp, valueField } from '../helpers/caching';

/** Where a credential's lookup is cached: its SHA-256 digest, never the secret. */
const authKey = (secret: string) => hashKey(authCacheKey(digest(secret)));
const sidOf = (cookie: string) => cookie.slice('sid='.length);

describe('credential cache: cached lookups, revoked at once', () => {
  let a: TestApp;
  let b: TestApp;
  let restore: Array<() => void> = [];
  before(async () => {
    [a, b] = await Promise.all([startCachingApp(), startCachingApp()]);
  });
  afterEach(async () => {
    for (const r of restore) r();
    restore = [];
    await settleRedis(a);
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  const tokenId = async (t: TestApp, cookie: string) =>
    (await t.http().get('/api/tokens').set('Cookie', cookie).expect(200)).body.data[0].id as string;

  it('when a token cached on both instances is revoked on one, then both refuse it at once with 401', async () => {
    for (const [revoker, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const u = await tokenUser(a, 'revoke');
      for (const t of [a, b, a, b]) await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
      assert.ok(await readEntry(a.deps.cacheRedis, authKey(u.token), valueField('token')), "the token's lookup is cached");

      const id = await tokenId(revoker, u.cookie);
      await revoker.http().delete(`/api/tokens/${id}`).set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).expect(204);
      for (const t of [other, revoker]) {
        const res = await t.http().get('/api/todos').set('Authorization', u.auth);
        assert.equal(assertProblem(res, 401).retryable, false);
        assert.match(String(res.headers['www-authenticate']), /invalid_token/);
      }
      assert.equal(await readEntry(a.deps.cacheRedis, authKey(u.token), valueField('token')), undefined, 'a refused token is not cached');
    }
  });

  it('when a session cached on both instances logs out on one, then its cookie is refused at once on both', async () => {
    const u = await signUp(a, 'logout');
    const s = await logIn(b, u.email, u.password);
    for (const t of [a, b, a, b]) await t.http().get('/api/session').set('Cookie', s.cookie).expect(200);
    assert.ok(await readEntry(a.deps.cacheRedis, authKey(sidOf(s.cookie)), valueField('session')), "the session's lookup is cached");

    await b.http().delete('/api/session').set('Cookie', s.cookie).set('X-CSRF-Token', s.csrf).expect(204);
    for (const t of [a, b]) {
      assertProblem(await t.http().get('/api/session').set('Cookie', s.cookie), 401);
      assertProblem(await t.http().get('/api/todos').set('Cookie', s.cookie), 401);
    }
    // Only that session ended: the sign-up's session still works.
    for (const t of [a, b]) await t.http().get('/api/session').set('Cookie', u.cookie).expect(200);
  });

  it('when a session cookie is used again and again, then it keeps working from the cache without asking PostgreSQL', async () => {
    const u = await signUp(a, 'session-cache');
    const counters = [a, b].map((t) => countQueries(t.deps.db, (sql) => /\bFROM sessions\b/.test(sql)));
    restore.push(...counters.map((c) => c.restore));
    for (const t of [a, b]) await t.http().get('/api/todos').set('Cookie', u.cookie).expect(200);
    const afterFirst = counters.map((c) => c.count());
    assert.equal(afterFirst[0]! + afterFirst[1]!, 1, `one lookup fills the cache both instances share, got ${afterFirst.join(' + ')}`);
    for (let i = 0; i < 10; i++) {
      for (const t of [a, b]) {
        const res = await t.http().get('/api/session').set('Cookie', u.cookie).expect(200);
        assert.equal(res.body.csrf_token, u.csrf);
        assert.equal(res.body.user.id, u.id);
      }
    }
    await a.http().post('/api/todos').set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).send({ content: 'from cache' }).expect(201);
    assert.deepEqual(
      counters.map((c) => c.count()),
      afterFirst,
      'no further session lookups in PostgreSQL',
    );
  });

  it('when credentials are cached, then Redis keys hold the digest and never the raw token or session id', async () => {
    const u = await tokenUser(a, 'digest');
    const s = await logIn(b, u.email, u.password);
    for (const t of [a, b]) {
      await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
      await t.http().get('/api/todos').set('Cookie', s.cookie).expect(200);
    }
    const secrets = [u.token, u.token.replace(/^tdo_/, ''), sidOf(u.cookie), sidOf(s.cookie)];
    const keys = await scanKeys(a.deps.cacheRedis, `${hashKey(authCacheKey(Buffer.alloc(0)))}*`);
    assert.ok(keys.includes(authKey(u.token)), "the token's digest names its entry");
    assert.ok(keys.includes(authKey(sidOf(s.cookie))), "the session's digest names its entry");
    for (const key of keys) {
      for (const secret of secrets) assert.ok(!key.includes(secret), `key ${key} holds a raw secret`);
    }
    for (const key of [...(await scanKeys(a.deps.redis, '*')), ...(await scanKeys(a.deps.cacheRedis, '*'))]) {
      for (const secret of secrets) assert.ok(!key.includes(secret), `key ${key} holds a raw secret`);
    }
    for (const key of [authKey(u.token), authKey(sidOf(s.cookie))]) {
      const stored = JSON.stringify(await a.deps.cacheRedis.hgetall(key));
      for (const secret of secrets) assert.ok(!stored.includes(secret), `the value of ${key} holds a raw secret`);
    }
  });

  it('when a token is revoked on an instance that has lost Redis, then a 204 means no instance accepts it any more', async () => {
    const u = await tokenUser(a, 'revoke-outage');
    for (const t of [a, b]) await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
    const id = await tokenId(a, u.cookie);
    await dropRedis(a);
    const revoked = await a.http().delete(`/api/tokens/${id}`).set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf);
    if (revoked.status === 204) {
      const res = await b.http().get('/api/todos').set('Authorization', u.auth);
      assert.equal(res.status, 401, `answered 204, yet the other instance still accepts the token from its cache: ${res.status}`);
    } else {
      // Refusing the revocation until it can take effect everywhere is fine too.
      assert.equal(assertProblem(revoked, 503).retryable, true);
      await settleRedis(a);
      await a.http().delete(`/api/tokens/${id}`).set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).expect(204);
      assertProblem(await b.http().get('/api/todos').set('Authorization', u.auth), 401);
    }
  });

  it('when someone writes a credential entry straight into Redis, then it is not believed: the token is checked in PostgreSQL and refused', async () => {
    const victim = await tokenUser(a, 'victim');
    const forged = `tdo_${randomBytes(32).toString('base64url')}`;
    const ns = authCacheKey(digest(forged));
    const version = 'forged-version';
    const epoch = (await a.deps.cacheRedis.get(EPOCH_KEY)) ?? '0';
    const entry = JSON.stringify({ value: { userId: victim.id, tokenId: randomUUID() }, epoch, version, freshUntil: Date.now() + 60_000 });
    // As someone with Redis but not the app's key would write it: plain, or signed with a key of their own.
    for (const raw of [entry, signedValue('a key of their own, long enough to pass', ns, 'token', entry)]) {
      await a.deps.cacheRedis.hset(hashKey(ns), 'v', version, valueField('token'), raw);
      const res = await a.http().get('/api/me').set('Authorization', `Bearer ${forged}`);
      assertProblem(res, 401);
    }
    // The app's own entries still serve.
    await a.http().get('/api/me').set('Authorization', victim.auth).expect(200);
  });
});
