import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PRODUCTION_SCRYPT, signUp, startApp, tokenUser, type TestApp } from '../helpers/app';
import { holdsSecret, logIn, storedValues } from '../helpers/accounts';

const SCRYPT = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/;

describe('secrets are stored only as hashes', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp(PRODUCTION_SCRYPT);
  });
  after(() => t.close());

  const sidOf = (cookie: string) => cookie.slice('sid='.length);

  it('when a user signs up, then users.password_hash is a salted scrypt string, not the password', async () => {
    const u = await signUp(t, 'pw-hash');
    const { rows } = await t.deps.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [u.id]);
    assert.equal(rows.length, 1);
    const hash = rows[0]!.password_hash;
    assert.match(hash, SCRYPT);
    assert.ok(!hash.includes(u.password), 'the password is not in the hash string');
    const [, logN, r, p, salt, key] = hash.split('$');
    assert.ok(Number(logN) >= 14, `scrypt cost N = 2^${logN} is memory-hard enough`);
    assert.ok(Number(r) >= 8 && Number(p) >= 1);
    assert.ok(Buffer.from(salt!, 'base64').length >= 16, 'a salt of at least 128 bits');
    assert.ok(Buffer.from(key!, 'base64').length >= 32, 'a key of at least 256 bits');
  });

  it('when two users choose the same password, then their hashes differ (salted)', async () => {
    const a = await signUp(t, 'same-pw-a');
    const b = await signUp(t, 'same-pw-b');
    assert.equal(a.password, b.password);
    const { rows } = await t.deps.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = ANY($1::uuid[])', [
      [a.id, b.id],
    ]);
    assert.equal(rows.length, 2);
    assert.notEqual(rows[0]!.password_hash, rows[1]!.password_hash);
  });

  it('when sessions are made by sign-up and log-in, then the sessions table never holds a raw sid', async () => {
    const u = await signUp(t, 'sid-hash');
    const again = await logIn(t, u.email);
    const rows = await storedValues(t, 'sessions', u.id);
    assert.equal(rows.length, 2, 'one row per session');
    for (const sid of [sidOf(u.cookie), sidOf(again.cookie)]) {
      assert.ok(sid.length >= 32);
      for (const value of rows.flat()) assert.ok(!holdsSecret(value, sid), `a sessions column holds the sid: ${String(value)}`);
    }
    const anywhere = await t.deps.db.query(
      "SELECT 1 FROM sessions s WHERE position($1 in s::text) > 0 OR position(convert_to($1, 'UTF8') in s.id_hash) > 0",
      [sidOf(u.cookie)],
    );
    assert.equal(anywhere.rowCount, 0, 'no row of any user holds the sid');
  });

  it('when a user makes an API token, then the api_tokens table never holds the raw token', async () => {
    const u = await tokenUser(t, 'token-hash');
    const rows = await storedValues(t, 'api_tokens', u.id);
    assert.equal(rows.length, 1);
    for (const value of rows[0]!) assert.ok(!holdsSecret(value, u.token), `an api_tokens column holds the token: ${String(value)}`);
    const anywhere = await t.deps.db.query(
      "SELECT 1 FROM api_tokens a WHERE position($1 in a::text) > 0 OR position(convert_to($1, 'UTF8') in a.token_hash) > 0",
      [u.token],
    );
    assert.equal(anywhere.rowCount, 0, 'no row of any user holds the token');
  });

  it('when the stored hash is copied into a cookie or a bearer header, then it does not authenticate', async () => {
    const u = await tokenUser(t, 'replay');
    const session = await t.deps.db.query<{ id_hash: Buffer }>('SELECT id_hash FROM sessions WHERE user_id = $1', [u.id]);
    const token = await t.deps.db.query<{ token_hash: Buffer }>('SELECT token_hash FROM api_tokens WHERE user_id = $1', [u.id]);
    for (const enc of ['base64url', 'hex'] as const) {
      const sid = session.rows[0]!.id_hash.toString(enc);
      await t.http().get('/api/me').set('Cookie', `sid=${sid}`).expect(401);
      const bearer = token.rows[0]!.token_hash.toString(enc);
      await t.http().get('/api/me').set('Authorization', `Bearer ${bearer}`).expect(401);
      await t.http().get('/api/me').set('Authorization', `Bearer tdo_${bearer}`).expect(401);
    }
    await t.http().get('/api/me').set('Authorization', u.auth).expect(200);
  });
});
