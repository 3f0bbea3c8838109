import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { assertProblem, signUp, startApp, tokenUser, type SessionUser, type TestApp } from '../helpers/app';
import { errorFields, ISO_MS, JSON_UTF8, UUID } from '../helpers/accounts';
import { raceAtGate } from '../helpers/race';

// The default TOKEN_LIMIT_PER_USER.
const TOKEN_LIMIT = 20;

describe('personal API tokens', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  const create = (u: SessionUser, name: string) =>
    t.http().post('/api/tokens').set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).send({ name });
  const list = (u: SessionUser) => t.http().get('/api/tokens').set('Cookie', u.cookie).expect(200);

  it('when a user creates a token, then 201 returns exactly id, name, token and created_at', async () => {
    const u = await signUp(t, 'token');
    const res = await create(u, 'my laptop').expect(201);
    assert.match(String(res.headers['content-type']), JSON_UTF8);
    assert.equal(res.headers['cache-control'], 'no-store', 'a response holding a secret is not cached');
    assert.deepEqual(Object.keys(res.body).sort(), ['created_at', 'id', 'name', 'token']);
    assert.match(res.body.id, UUID);
    assert.equal(res.body.name, 'my laptop');
    assert.match(res.body.created_at, ISO_MS);
    assert.ok(typeof res.body.token === 'string' && res.body.token.length >= 32, 'the token is long and random');
    assert.equal(res.headers.location, `/api/tokens/${res.body.id}`);
  });

  it('when a token is sent as Bearer, then it authenticates as its owner', async () => {
    const u = await signUp(t, 'bearer');
    const { body } = await create(u, 'cli').expect(201);
    const me = await t.http().get('/api/me').set('Authorization', `Bearer ${body.token}`).expect(200);
    assert.equal(me.body.user.id, u.id);
  });

  it('when two tokens are made, then they differ', async () => {
    const u = await signUp(t, 'two-tokens');
    const a = await create(u, 'a').expect(201);
    const b = await create(u, 'b').expect(201);
    assert.notEqual(a.body.token, b.body.token);
    assert.notEqual(a.body.id, b.body.id);
  });

  it('when tokens are listed, then each has id, name, created_at and last_used_at, and no secret', async () => {
    const u = await signUp(t, 'list');
    const a = await create(u, 'first').expect(201);
    const b = await create(u, 'second').expect(201);
    const res = await list(u);
    assert.match(String(res.headers['content-type']), JSON_UTF8);
    assert.deepEqual(Object.keys(res.body), ['data', 'next_cursor']);
    assert.equal(res.body.next_cursor, null, 'one page holds them all');
    assert.deepEqual(res.body.data.map((x: { id: string }) => x.id).sort(), [a.body.id, b.body.id].sort());
    for (const item of res.body.data) {
      assert.deepEqual(Object.keys(item).sort(), ['created_at', 'id', 'last_used_at', 'name']);
      assert.match(item.created_at, ISO_MS);
      assert.equal(item.last_used_at, null, 'not used yet');
    }
    assert.ok(!res.text.includes(a.body.token) && !res.text.includes(b.body.token), 'no token secret in the list');
  });

  it('when a user has more tokens than a page, then the list comes oldest first in keyset pages with an opaque next_cursor, null on the last', async () => {
    const u = await signUp(t, 'paged');
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await create(u, `token ${i}`).expect(201)).body.id);
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query: Record<string, string> = cursor === null ? { limit: '3' } : { limit: '3', cursor };
      const res = await t.http().get('/api/tokens').query(query).set('Cookie', u.cookie).expect(200);
      assert.deepEqual(Object.keys(res.body), ['data', 'next_cursor']);
      sizes.push(res.body.data.length);
      seen.push(...res.body.data.map((x: { id: string }) => x.id));
      const next: string | null = res.body.next_cursor;
      if (next !== null) {
        assert.match(next, /^[A-Za-z0-9_-]+$/, 'opaque and URL-safe');
        assert.ok(!next.includes(seen.at(-1)!), 'the cursor does not show the id in clear');
      }
      cursor = next;
    } while (cursor !== null);
    assert.deepEqual(sizes, [3, 3, 1]);
    assert.deepEqual(seen, made, 'each token once, oldest first');
  });

  it('when no page size is asked and a user has 21 tokens, then the first page holds 20 and a next_cursor', async () => {
    const u = await signUp(t, 'default-page');
    // Straight into the table: the API would stop at the per-user limit.
    await t.deps.db.query(
      `INSERT INTO api_tokens (user_id, name, token_hash, created_at)
       SELECT $1::uuid, 'token ' || i, sha256(($1::text || i)::bytea), now() + i * interval '1 millisecond' FROM generate_series(1, 21) AS i`,
      [u.id],
    );
    const first = await list(u);
    assert.deepEqual(
      first.body.data.map((x: { name: string }) => x.name),
      Array.from({ length: 20 }, (_, i) => `token ${i + 1}`),
    );
    assert.ok(first.body.next_cursor);
    const rest = await t.http().get('/api/tokens').query({ cursor: first.body.next_cursor }).set('Cookie', u.cookie).expect(200);
    assert.deepEqual(
      rest.body.data.map((x: { name: string }) => x.name),
      ['token 21'],
    );
    assert.equal(rest.body.next_cursor, null);
  });

  it('when the token a cursor names is revoked before the next page, then the walk goes on from where it was', async () => {
    const u = await signUp(t, 'walk-revoke');
    const made: string[] = [];
    for (let i = 0; i < 4; i++) made.push((await create(u, `token ${i}`).expect(201)).body.id);
    const first = await t.http().get('/api/tokens?limit=2').set('Cookie', u.cookie).expect(200);
    await t.http().delete(`/api/tokens/${made[1]}`).set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).expect(204);
    const second = await t
      .http()
      .get('/api/tokens')
      .query({ limit: 2, cursor: first.body.next_cursor })
      .set('Cookie', u.cookie)
      .expect(200);
    assert.deepEqual(
      second.body.data.map((x: { id: string }) => x.id),
      made.slice(2),
    );
    assert.equal(second.body.next_cursor, null);
  });

  it('when the page size or cursor is out of range, then 422 names the parameter', async () => {
    const u = await signUp(t, 'bad-page');
    for (const [query, field] of [
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=not-a-cursor', 'cursor'],
    ] as const) {
      const res = await t.http().get(`/api/tokens?${query}`).set('Cookie', u.cookie);
      const problem = assertProblem(res, 422);
      assert.equal(problem.retryable, false);
      assert.deepEqual(errorFields(problem), [field], query);
    }
  });

  /** Asserts the limit's problem: 409, not retryable as is, saying the limit and what to do. */
  function assertTokenLimit(res: Awaited<ReturnType<typeof create>>): void {
    const problem = assertProblem(res, 409);
    assert.equal(problem.type, '/problems/token-limit-reached');
    assert.equal(problem.title, 'Limit reached');
    assert.equal(problem.retryable, false);
    assert.match(String(problem.detail), new RegExp(`already has ${TOKEN_LIMIT} API tokens`));
    assert.match(String(problem.detail), /Revoke one/);
  }

  it('when a user has 20 tokens, then another is 409 token-limit-reached and none is made; after a revocation there is room for one', async () => {
    const u = await signUp(t, 'token-limit');
    const made: string[] = [];
    for (let i = 0; i < TOKEN_LIMIT; i++) made.push((await create(u, `token ${i}`).expect(201)).body.id);
    const refused = await create(u, 'one too many');
    assertTokenLimit(refused);
    assert.equal(refused.body.token, undefined, 'no secret in the refusal');
    assert.equal((await list(u)).body.data.length, TOKEN_LIMIT);

    await t.http().delete(`/api/tokens/${made[0]}`).set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).expect(204);
    await create(u, 'in its place').expect(201);
    assertTokenLimit(await create(u, 'and one more'));
  });

  it('when token creates race for the last place, then exactly one gets it', async () => {
    const u = await signUp(t, 'token-race');
    for (let i = 0; i < TOKEN_LIMIT - 1; i++) await create(u, `token ${i}`).expect(201);
    // Fewer than the app's 10 pooled connections: every racer reaches PostgreSQL.
    const results = await raceAtGate(
      'api_tokens',
      Array.from({ length: 8 }, (_, i) => () => create(u, `racer ${i}`)),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, ...Array<number>(7).fill(409)], statuses.join(', '));
    results.filter((r) => r.status === 409).forEach(assertTokenLimit);
    const { rows } = await t.deps.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_tokens WHERE user_id = $1', [u.id]);
    assert.equal(rows[0]!.n, TOKEN_LIMIT);
  });

  it("when a user lists tokens, then another user's tokens are not there", async () => {
    const mine = await tokenUser(t, 'mine');
    await tokenUser(t, 'theirs');
    const res = await list(mine);
    assert.equal(res.body.data.length, 1);
  });

  it('when a token has been used, then the list shows last_used_at', async () => {
    const u = await tokenUser(t, 'used');
    const before = Date.now();
    await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
    // The use is recorded without holding up the request, so allow it a moment.
    let lastUsed: string | null = null;
    for (let i = 0; i < 20 && lastUsed === null; i += 1) {
      lastUsed = (await list(u)).body.data[0].last_used_at;
      if (lastUsed === null) await sleep(50);
    }
    assert.ok(lastUsed, 'last_used_at is set after a use');
    assert.match(lastUsed, ISO_MS);
    assert.ok(Math.abs(Date.parse(lastUsed) - before) < 60_000, `last_used_at ${lastUsed} is about now`);
  });

  it('when a token is revoked, then 204 and the token is refused with 401 afterwards', async () => {
    const u = await tokenUser(t, 'revoke');
    const id = (await list(u)).body.data[0].id;
    await t.http().get('/api/me').set('Authorization', u.auth).expect(200);
    const res = await t.http().delete(`/api/tokens/${id}`).set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).expect(204);
    assert.equal(res.text, '');
    const refused = await t.http().get('/api/me').set('Authorization', u.auth);
    assert.equal(assertProblem(refused, 401).retryable, false);
    assert.match(String(refused.headers['www-authenticate']), /^Bearer /);
    assert.deepEqual((await list(u)).body.data, []);
  });

  it('when a token revokes itself, then 204 and it stops working', async () => {
    const u = await tokenUser(t, 'self-revoke');
    const id = (await list(u)).body.data[0].id;
    await t.http().delete(`/api/tokens/${id}`).set('Authorization', u.auth).expect(204);
    assertProblem(await t.http().get('/api/tokens').set('Authorization', u.auth), 401);
  });

  it('when the token id is unknown, then 404', async () => {
    const u = await signUp(t, 'unknown-id');
    const res = await t.http().delete(`/api/tokens/${randomUUID()}`).set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf);
    assert.equal(assertProblem(res, 404).retryable, false);
  });

  it('when the token id is malformed, then 404, not 400 or 500', async () => {
    const u = await signUp(t, 'bad-id');
    for (const id of ['not-a-uuid', '123', `${randomUUID()}x`]) {
      assertProblem(await t.http().delete(`/api/tokens/${id}`).set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf), 404);
    }
  });

  it("when a user revokes another user's token id, then 404 and that token keeps working", async () => {
    const victim = await tokenUser(t, 'victim');
    const victimTokenId = (await list(victim)).body.data[0].id;
    const attacker = await signUp(t, 'attacker');
    const res = await t.http().delete(`/api/tokens/${victimTokenId}`).set('Cookie', attacker.cookie).set('X-CSRF-Token', attacker.csrf);
    assertProblem(res, 404);
    await t.http().get('/api/me').set('Authorization', victim.auth).expect(200);
  });

  it('when the name is empty, too long or missing, then 422 names the name field', async () => {
    const u = await signUp(t, 'bad-name');
    for (const body of [{ name: '   ' }, { name: 'n'.repeat(101) }, {}]) {
      const res = await t.http().post('/api/tokens').set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).send(body);
      assert.deepEqual(errorFields(assertProblem(res, 422)), ['name'], JSON.stringify(body));
    }
    assert.deepEqual((await list(u)).body.data, []);
  });

  it('when the bearer token is made up, then 401 with a Bearer challenge', async () => {
    const res = await t.http().get('/api/me').set('Authorization', 'Bearer tdo_made-up-token');
    assertProblem(res, 401);
    assert.match(String(res.headers['www-authenticate']), /^Bearer .*invalid_token/);
  });

  it('when there are no credentials, then the tokens routes are 401', async () => {
    assertProblem(await t.http().get('/api/tokens'), 401);
    assertProblem(await t.http().post('/api/tokens').send({ name: 'x' }), 401);
    assertProblem(await t.http().delete(`/api/tokens/${randomUUID()}`), 401);
  });
});
