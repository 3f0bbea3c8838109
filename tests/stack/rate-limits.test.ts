import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { appLog, stack, stackSession } from '../helpers/stack';

// The test stack runs with the default limit of failed log-ins per e-mail
// and address (every request here comes from 127.0.0.1).
const PER_EMAIL_AND_IP = 5;

describe('log-in limits shared by all workers', () => {
  it('when one address fails to log in to an e-mail N times across workers, then attempt N+1 is 429 with Retry-After, even with the right password', async () => {
    const user = await stackSession();
    const attempt = (password: string) =>
      fetch(`${stack.http}/api/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', connection: 'close' },
        body: JSON.stringify({ email: user.email.toUpperCase(), password }),
      });
    // At once, so they travel on several upstream connections to both workers.
    const failures = await Promise.all(Array.from({ length: PER_EMAIL_AND_IP }, () => attempt('wrong password!')));
    assert.deepEqual(
      failures.map((r) => r.status),
      Array(PER_EMAIL_AND_IP).fill(401),
    );
    const ids = failures.map((r) => r.headers.get('x-request-id')!);
    const limited = await attempt(user.password);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    assert.match(String(limited.headers.get('retry-after')), /^\d+$/);
    assert.match(String(limited.headers.get('ratelimit')), /"login-email-ip"; r=0; t=\d+/);
    const body = (await limited.json()) as { status: number; retryable: boolean };
    assert.equal(body.status, 429);
    assert.equal(body.retryable, true);

    // The attempts were spread over both workers, so the count is shared.
    const pids = new Set((await appLog()).filter((l) => ids.includes(String(l.request_id))).map((l) => l.pid));
    assert.ok(pids.size >= 2, `all attempts reached one worker (${[...pids].join(', ')})`);

    const other = await stackSession();
    const fine = await fetch(`${stack.http}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: other.email, password: other.password }),
    });
    assert.equal(fine.status, 201);
  });
});
