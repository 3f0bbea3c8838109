import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { authCacheKey } from '../../app/accounts/auth';
import { hashKey } from '../../app/cache';
import { MAX_COPIES_PER_TOKEN, privateSetKey } from '../../app/edge';
import { sleep, stack, stackSession, stackStores, asSession as withSession } from '../helpers/stack';

// nginx answers a token's first page from its own cache (nginx/snippets/
// private-cache.conf, app/edge.ts). These tests hold it to what the app
// alone would answer: only to that token, never stale after a write, never
// after a revocation.

// The stack's EDGE_PRIVATE_TTL_SECONDS (default) plus nginx's whole-second rounding.
const COPY_LIFETIME_MS = 5_000 + 1_500;

type Session = Awaited<ReturnType<typeof stackSession>>;
type Token = { id: string; token: string; auth: string };
type Read = { started: number; status: number; body: string; cache: string | null };

const withToken = (t: Token, method: string, path: string, body?: unknown) =>
  fetch(`${stack.http}${path}`, {
    method,
    headers: { authorization: t.auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

async function mintToken(s: Session): Promise<Token> {
  const res = await withSession(s, 'POST', '/api/tokens', { name: `edge-${randomUUID().slice(0, 6)}` });
  assert.equal(res.status, 201);
  const { id, token } = (await res.json()) as { id: string; token: string };
  return { id, token, auth: `Bearer ${token}` };
}

async function read(auth: string, path = '/api/todos'): Promise<Read> {
  const started = performance.now();
  const res = await fetch(`${stack.http}${path}`, { headers: { authorization: auth } });
  return { started, status: res.status, body: await res.text(), cache: res.headers.get('x-cache-status') };
}

async function create(t: Token, content: string): Promise<{ id: string; answered: number }> {
  const res = await withToken(t, 'POST', '/api/todos', { content });
  assert.equal(res.status, 201);
  const { id } = (await res.json()) as { id: string };
  return { id, answered: performance.now() };
}

/**
 * Reads until nginx answers from its copy (a purge from a write a second
 * earlier, re-sent for safety, may drop the first copy made).
 */
async function holdCopy(auth: string, path = '/api/todos'): Promise<void> {
  for (let i = 0; i < 5; i++) if ((await read(auth, path)).cache === 'HIT') return;
  assert.fail(`nginx never answered ${path} from a copy`);
}

/** A user with two API tokens and a first todo that names them. */
async function userWithTokens(): Promise<{ session: Session; tokens: [Token, Token]; marker: string }> {
  const session = await stackSession();
  const tokens: [Token, Token] = [await mintToken(session), await mintToken(session)];
  const marker = `owner-${session.id}`;
  await create(tokens[0], marker);
  return { session, tokens, marker };
}

describe("first pages from nginx's cache, per API token", () => {
  let alice: Awaited<ReturnType<typeof userWithTokens>>;
  let db: pg.Client;
  let redis: Redis;
  let cacheRedis: Redis;
  let closeStores: () => Promise<void>;
  before(async () => {
    alice = await userWithTokens();
    ({ db, redis, cacheRedis, close: closeStores } = await stackStores());
  });
  after(() => closeStores());

  it("when a token reads its first page twice, then nginx answers the second and the body is the app's", async () => {
    const [first, second] = [await read(alice.tokens[0].auth), await read(alice.tokens[0].auth)];
    assert.equal(first.status, 200);
    assert.equal(second.cache, 'HIT');
    assert.equal(second.body, first.body);
    assert.ok(second.body.includes(alice.marker));
    // Same list, different token: its own copy.
    assert.equal((await read(alice.tokens[1].auth)).cache, 'MISS');
    // Other query strings are separate copies.
    assert.notEqual((await read(alice.tokens[0].auth, '/api/todos?limit=1')).cache, 'HIT');
  });

  it('when a cached token sends If-None-Match with the ETag, then nginx answers 304', async () => {
    const res = await fetch(`${stack.http}/api/todos`, { headers: { authorization: alice.tokens[0].auth } });
    const etag = res.headers.get('etag');
    await res.arrayBuffer();
    assert.ok(etag);
    const again = await fetch(`${stack.http}/api/todos`, { headers: { authorization: alice.tokens[0].auth, 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('x-cache-status'), 'HIT');
  });

  it('when a near-miss of a cached token is sent, then it is refused, never answered from the cache', async () => {
    await read(alice.tokens[0].auth);
    const token = alice.tokens[0].token;
    const last = token.at(-1) === 'A' ? 'B' : 'A';
    const forged = [
      `Bearer ${token.slice(0, -1)}${last}`,
      `Bearer ${token.slice(0, -1)}`,
      `Bearer ${token}x`,
      `Bearer ${token.toUpperCase()}`,
      `bearer ${token}`,
      `Bearer  ${token}`,
      `Bearer ${token},Bearer ${token}`,
      token,
    ];
    for (const auth of forged) {
      const res = await read(auth);
      assert.equal(res.status, 401, `${JSON.stringify(auth)} got ${res.status}`);
      assert.notEqual(res.cache, 'HIT');
      assert.ok(!res.body.includes(alice.marker));
    }
  });

  it('when a browser session revalidates its list with If-None-Match, then the app answers 304 through nginx', async () => {
    const first = await withSession(alice.session, 'GET', '/api/todos');
    const etag = first.headers.get('etag');
    await first.arrayBuffer();
    assert.ok(etag);
    const again = await fetch(`${stack.http}/api/todos`, { headers: { cookie: alice.session.cookie, 'if-none-match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.headers.get('x-cache-status'), 'BYPASS');
  });

  it('when a token reads with other query strings, then plain first-page queries get their own copies and odd ones none', async () => {
    for (const path of ['/api/todos?limit=1', '/api/todos?is_finished=false&limit=3']) await holdCopy(alice.tokens[0].auth, path);
    for (const path of ["/api/todos?limit=1&x='", '/api/todos?limit=1&limit=2', '/api/todos?limit=01%31']) {
      const reads = [
        await read(alice.tokens[0].auth, path),
        await read(alice.tokens[0].auth, path),
        await read(alice.tokens[0].auth, path),
      ];
      assert.ok(
        reads.every((r) => r.status < 500 && r.cache !== 'HIT'),
        `${path}: ${reads.map((r) => `${r.status} ${r.cache}`).join(', ')}`,
      );
    }
  });

  it('when a browser session reads the same list, then it is never cached (cookies go to the app)', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await withSession(alice.session, 'GET', '/api/todos');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('x-cache-status'), 'BYPASS');
      assert.ok((await res.text()).includes(alice.marker));
    }
  });

  it("when 8 users with 2 tokens each read and write at once, then every response carries only its own user's todos", async (t) => {
    const users = await Promise.all(Array.from({ length: 8 }, () => userWithTokens()));
    const markers = users.map((u) => u.marker);
    let hits = 0;
    let reads = 0;
    await Promise.all(
      users.flatMap((u, n) => [
        ...u.tokens.map(async (token) => {
          for (let i = 0; i < 150; i++) {
            const got = await read(token.auth);
            reads++;
            if (got.cache === 'HIT') hits++;
            assert.equal(got.status, 200);
            // Every todo of a user carries its marker; a first page has some.
            const seen = markers.filter((m) => got.body.includes(m));
            assert.deepEqual(seen, [u.marker], `user ${n} saw ${seen.join(', ')}`);
          }
        }),
        (async () => {
          for (let i = 0; i < 10; i++) {
            await create(u.tokens[i % 2]!, `${u.marker} write ${i}`);
            await sleep(20);
          }
        })(),
      ]),
    );
    t.diagnostic(`${reads} reads, ${hits} answered by nginx`);
    assert.ok(hits > reads / 3, `only ${hits} of ${reads} reads came from nginx's cache`);
  });

  it("when a token creates, edits or deletes, then the next read by either of the user's tokens shows it at once", async () => {
    for (let round = 0; round < 10; round++) {
      // Both tokens hold a cached copy before each change.
      for (const token of alice.tokens) await holdCopy(token.auth);
      const writer = alice.tokens[round % 2]!;
      const content = `round ${round} ${randomUUID()}`;
      const { id } = await create(writer, content);
      for (const token of alice.tokens) assert.ok((await read(token.auth)).body.includes(content), `round ${round}: create not seen`);

      for (const token of alice.tokens) await holdCopy(token.auth);
      assert.equal((await withToken(writer, 'PATCH', `/api/todos/${id}`, { content: `${content} edited`, is_finished: true })).status, 200);
      for (const token of alice.tokens) {
        const body = (await read(token.auth)).body;
        assert.ok(body.includes(`${content} edited`) && body.includes('"is_finished":true'), `round ${round}: edit not seen`);
      }

      for (const token of alice.tokens) await holdCopy(token.auth);
      assert.equal((await withToken(writer, 'DELETE', `/api/todos/${id}`)).status, 204);
      for (const token of alice.tokens) assert.ok(!(await read(token.auth)).body.includes(content), `round ${round}: delete not seen`);
    }
  });

  it('when copies exist for several query strings, then a write removes every one of them', async () => {
    const paths = ['/api/todos', '/api/todos?limit=1', '/api/todos?is_finished=false&limit=3', '/api/todos?limit=2&is_finished=false'];
    for (const token of alice.tokens) {
      for (const path of paths) await holdCopy(token.auth, path);
    }
    const content = `for every query ${randomUUID()}`;
    await create(alice.tokens[1], content);
    for (const token of alice.tokens) {
      for (const path of paths) assert.ok((await read(token.auth, path)).body.includes(content), `${path} was stale after the write`);
    }
  });

  it("when the browser session writes, then the tokens' cached copies show it at once", async () => {
    for (const token of alice.tokens) await holdCopy(token.auth);
    const content = `from the browser ${randomUUID()}`;
    assert.equal((await withSession(alice.session, 'POST', '/api/todos', { content })).status, 201);
    for (const token of alice.tokens) assert.ok((await read(token.auth)).body.includes(content));
  });

  it('when one token reads without pause while the other writes, then no read begun after a write was answered misses it', async (t) => {
    const [writer, reader] = alice.tokens;
    const reads: Read[] = [];
    const writes: Array<{ content: string; answered: number }> = [];
    let writing = true;
    const readers = Array.from({ length: 6 }, async () => {
      while (writing) reads.push(await read(reader.auth));
    });
    for (let i = 0; i < 40; i++) {
      const content = `race ${i} ${randomUUID()}`;
      writes.push({ content, answered: (await create(writer, content)).answered });
      await sleep(i % 4 === 0 ? 0 : 15);
    }
    writing = false;
    await Promise.all(readers);

    let checked = 0;
    for (const r of reads) {
      // The newest write answered before this read began is on its first page.
      const latest = writes.filter((w) => w.answered < r.started).at(-1);
      if (!latest) continue;
      checked++;
      assert.ok(
        r.body.includes(latest.content),
        `a read begun ${(r.started - latest.answered).toFixed(1)} ms after "${latest.content}" was answered did not show it (${r.cache})`,
      );
    }
    const hits = reads.filter((r) => r.cache === 'HIT').length;
    t.diagnostic(`${reads.length} reads (${hits} from nginx), ${checked} checked against ${writes.length} writes`);
    assert.ok(checked > 200 && hits > 50);
  });

  it('when a token is revoked, then no read begun after the revocation was answered gets the list', async () => {
    const victim = await mintToken(alice.session);
    await holdCopy(victim.auth);

    const reads: Read[] = [];
    let reading = true;
    const readers = Array.from({ length: 4 }, async () => {
      while (reading) reads.push(await read(victim.auth));
    });
    await sleep(100);
    const res = await withToken(alice.tokens[0], 'DELETE', `/api/tokens/${victim.id}`);
    assert.equal(res.status, 204);
    const revoked = performance.now();
    // Enough reads begun after it to mean something, however busy the machine.
    while (reads.filter((r) => r.started > revoked).length <= 20 && performance.now() - revoked < 5_000) await sleep(50);
    reading = false;
    await Promise.all(readers);

    const after = reads.filter((r) => r.started > revoked);
    assert.ok(after.length > 20 && reads.length > after.length);
    for (const r of after) {
      assert.equal(r.status, 401, `a read ${(r.started - revoked).toFixed(1)} ms after revocation got ${r.status} (${r.cache})`);
      assert.ok(!r.body.includes(alice.marker));
    }
    // The user's other tokens are unaffected.
    assert.equal((await read(alice.tokens[1].auth)).status, 200);
  });

  it('when a token with copies for several query strings is revoked, then none of them answers', async () => {
    const victim = await mintToken(alice.session);
    const paths = ['/api/todos', '/api/todos?limit=1', '/api/todos?is_finished=true&limit=2'];
    for (const path of paths) await holdCopy(victim.auth, path);
    assert.equal((await withSession(alice.session, 'DELETE', `/api/tokens/${victim.id}`)).status, 204);
    for (const path of paths) assert.equal((await read(victim.auth, path)).status, 401, path);
  });

  it('when a copy has outlived its lifetime but nginx still holds it, then a write still removes it', async () => {
    const bob = await userWithTokens();
    for (const token of bob.tokens) await holdCopy(token.auth);
    await sleep(COPY_LIFETIME_MS);
    const content = `after expiry ${randomUUID()}`;
    await create(bob.tokens[0], content);
    for (const token of bob.tokens) {
      const got = await read(token.auth);
      assert.ok(got.body.includes(content), `an expired copy was served after a write (${got.cache})`);
    }
  });

  it("when a token disappears without the app's purge, then its expired copy is served at most once more", async () => {
    const carol = await userWithTokens();
    const [token] = carol.tokens;
    await holdCopy(token.auth);
    // Behind the app's back: no purge, only the row and the credential cache go.
    const digest = createHash('sha256').update(token.token).digest();
    await db.query('DELETE FROM api_tokens WHERE id = $1', [token.id]);
    await cacheRedis.del(hashKey(authCacheKey(digest)));
    await sleep(COPY_LIFETIME_MS);

    const reads: Read[] = [];
    for (let i = 0; i < 6; i++) {
      reads.push(await read(token.auth));
      await sleep(50);
    }
    const served = reads.filter((r) => r.status === 200);
    assert.ok(
      served.length <= 1,
      `the expired copy was served ${served.length} times: ${reads.map((r) => `${r.status} ${r.cache}`).join(', ')}`,
    );
    assert.deepEqual(
      reads.slice(-3).map((r) => r.status),
      [401, 401, 401],
    );
  });

  it('when a token reads many query strings, then it gets at most MAX_COPIES_PER_TOKEN copies, and a write leaves none listed once purged', async () => {
    const bob = await userWithTokens();
    const [token] = bob.tokens;
    const paths = Array.from({ length: MAX_COPIES_PER_TOKEN + 2 }, (_, i) => `/api/todos?limit=${i + 1}`);
    const hits: string[] = [];
    for (const path of paths) {
      await read(token.auth, path);
      if ((await read(token.auth, path)).cache === 'HIT') hits.push(path);
    }
    assert.equal(hits.length, MAX_COPIES_PER_TOKEN, `copies: ${hits.join(' ')}`);
    const key = privateSetKey(bob.session.id);
    assert.equal(await redis.zcard(key), MAX_COPIES_PER_TOKEN, 'the list names exactly the copies nginx may hold');

    await create(token, 'a write purges them all');
    for (const path of hits) assert.notEqual((await read(token.auth, path)).cache, 'HIT', path);
    // Purged twice (the second a second later), then no longer listed; the
    // reads just made were admitted again and stay listed.
    await sleep(1_500);
    const left = await redis.zrange(key, '0', '-1');
    assert.ok(left.length <= MAX_COPIES_PER_TOKEN, `${left.length} listed`);
    await create(token, 'another write');
    await sleep(1_500);
    assert.equal(await redis.zcard(key), 0, 'nothing nginx could still hold is listed');
  });
});
