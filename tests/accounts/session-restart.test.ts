import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { signUp, startApp, tokenUser } from '../helpers/app';
import { sessionStatus } from '../helpers/accounts';

// Each startApp() is what one cluster worker is: its own process state, the
// shared PostgreSQL and Redis behind it.
describe('sessions across app restarts and workers', () => {
  it('when the app restarts, then a session cookie from before still works with the same CSRF token', async () => {
    const first = await startApp();
    const u = await signUp(first, 'restart').finally(() => first.close());

    const second = await startApp();
    try {
      const res = await second.http().get('/api/session').set('Cookie', u.cookie).expect(200);
      assert.equal(res.body.user.id, u.id);
      assert.equal(res.body.csrf_token, u.csrf);
      await second
        .http()
        .post('/api/tokens')
        .set('Cookie', u.cookie)
        .set('X-CSRF-Token', u.csrf)
        .send({ name: 'after restart' })
        .expect(201);
    } finally {
      await second.close();
    }
  });

  it('when the app restarts, then an API token from before still works', async () => {
    const first = await startApp();
    const u = await tokenUser(first, 'restart-token').finally(() => first.close());

    const second = await startApp();
    try {
      const res = await second.http().get('/api/me').set('Authorization', u.auth).expect(200);
      assert.equal(res.body.user.id, u.id);
    } finally {
      await second.close();
    }
  });

  it('when two workers run, then a session made on one works on the other, and a log-out on one ends it on both', async () => {
    const [a, b] = await Promise.all([startApp(), startApp()]);
    try {
      const u = await signUp(a, 'workers');
      const res = await b.http().get('/api/session').set('Cookie', u.cookie).expect(200);
      assert.equal(res.body.csrf_token, u.csrf);
      await b.http().delete('/api/session').set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).expect(204);
      assert.equal(await sessionStatus(a, u.cookie), 401);
      assert.equal(await sessionStatus(b, u.cookie), 401);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
