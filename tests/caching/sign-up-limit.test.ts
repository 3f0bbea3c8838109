import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem, uniqueEmail, type TestApp } from '../helpers/app';
import { PASSWORD, uniqueClientIp } from '../helpers/accounts';
import { startCachingApp } from '../helpers/caching';

// Sign-up answers 409 for a registered e-mail (people need to hear that), so
// the number of sign-ups per address and hour is what keeps anyone from
// testing many addresses for accounts.
describe('sign-up limit per address: 3 an hour, across instances', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    const env = { TRUST_PROXY_HOPS: '1', SIGNUP_LIMIT_PER_IP: '3' };
    [a, b] = await Promise.all([startCachingApp(env), startCachingApp(env)]);
  });
  after(() => Promise.all([a.close(), b.close()]));

  const signUp = (t: TestApp, from: string, email: string) =>
    t.http().post('/api/users').set('X-Forwarded-For', from).send({ email, password: PASSWORD });

  it('when one address has tried 3 sign-ups in an hour (new or taken e-mails), then the 4th is 429 and makes no account, while others sign up and it still logs in', async () => {
    const [from, elsewhere, mine] = [uniqueClientIp(), uniqueClientIp(), uniqueEmail('signup-limit')];
    assert.equal((await signUp(a, from, mine)).status, 201);
    assertProblem(await signUp(b, from, mine), 409); // the 409 that tells an e-mail has an account
    assert.equal((await signUp(a, from, uniqueEmail('signup-limit'))).status, 201);

    const probe = uniqueEmail('signup-limit');
    const res = await signUp(b, from, probe);
    const problem = assertProblem(res, 429);
    assert.equal(problem.retryable, true);
    const retryAfter = Number(res.headers['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 3600, `Retry-After ${retryAfter}`);
    assert.match(String(res.headers.ratelimit), /"signup-ip"; r=0; t=\d+/);
    assert.match(String(res.headers['ratelimit-policy']), /"signup-ip"; q=3; w=3600/);
    assert.equal(res.headers['set-cookie'], undefined);
    assertProblem(await signUp(a, from, mine), 429); // a taken e-mail is no longer told apart
    const { rowCount } = await a.deps.db.query('SELECT 1 FROM users WHERE lower(email) = lower($1)', [probe]);
    assert.equal(rowCount, 0, 'the refused sign-up made no account');

    assert.equal((await signUp(b, elsewhere, uniqueEmail('signup-limit'))).status, 201, 'another address signs up');
    const logIn = await a.http().post('/api/session').set('X-Forwarded-For', from).send({ email: mine, password: PASSWORD });
    assert.equal(logIn.status, 201, 'log-in is not a sign-up');
  });
});
