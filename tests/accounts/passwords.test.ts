import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { assertProblem, PRODUCTION_SCRYPT, startApp, uniqueEmail, type TestApp } from '../helpers/app';
import { PASSWORD } from '../helpers/accounts';

/** A hash as the app stores it, scrypt$<logN>$<r>$<p>$<salt>$<key>, made here without the app's code. */
function storedHash(password: string, logN: number, r: number, p: number): string {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFC'), salt, 32, { N: 2 ** logN, r, p, maxmem: 256 * 2 ** logN * r });
  return ['scrypt', logN, r, p, salt.toString('base64'), key.toString('base64')].join('$');
}

describe('password storage and checking', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp(PRODUCTION_SCRYPT);
  });
  after(() => t.close());

  const hashOf = async (email: string) =>
    (await t.deps.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE email = $1', [email])).rows[0]!.password_hash;

  it("when a user signs up, then the password is stored as scrypt at the default cost, N=2^15, r=8, p=3 (OWASP's equivalent of N=2^17, p=1), with a 16-byte salt", async () => {
    const email = uniqueEmail('cost');
    await t.http().post('/api/users').send({ email, password: PASSWORD }).expect(201);
    const [scheme, logN, r, p, salt, key] = (await hashOf(email)).split('$');
    assert.deepEqual([scheme, logN, r, p], ['scrypt', '15', '8', '3']);
    assert.equal(Buffer.from(salt!, 'base64').length, 16);
    assert.equal(Buffer.from(key!, 'base64').length, 32);
  });

  it('when an account was stored at another cost or under the old 8-character minimum, then log-in checks it with its own parameters', async () => {
    for (const [password, logN, p] of [
      ['eight ch', 15, 1],
      ['an older cheaper hash', 14, 1],
      ['a dearer one than today', 16, 1],
    ] as const) {
      const email = uniqueEmail('old-hash');
      await t.deps.db.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', [email, storedHash(password, logN, 8, p)]);
      const res = await t.http().post('/api/session').send({ email, password });
      assert.equal(res.status, 201, `2^${logN}, p=${p}, ${password.length} characters: ${res.text}`);
      assertProblem(
        await t
          .http()
          .post('/api/session')
          .send({ email, password: `${password}!` }),
        401,
      );
    }
  });

  it('when a log-in password is shorter than the sign-up minimum, then it is judged by the hash (401), not refused as invalid', async () => {
    for (const password of ['short', '12345678901']) {
      const res = await t
        .http()
        .post('/api/session')
        .send({ email: uniqueEmail('short-login'), password });
      assertProblem(res, 401);
    }
    const problem = assertProblem(
      await t
        .http()
        .post('/api/session')
        .send({ email: uniqueEmail('empty'), password: '' }),
      422,
    );
    assert.deepEqual(
      (problem.errors as { field: string }[]).map((e) => e.field),
      ['password'],
    );
  });
});
