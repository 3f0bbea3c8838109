import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, tokenUser, type TestApp } from './helpers/app';

describe('smoke', () => {
  let t: TestApp;
  before(async () => { t = await startApp(); });
  after(() => t.close());
  it('when a user creates a todo, then it lists', async () => {
    const u = await tokenUser(t);
    const created = await t.http().post('/api/todos').set('Authorization', u.auth).send({ content: ' hi ' }).expect(201);
    assert.equal(created.body.content, 'hi');
    const list = await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
    assert.equal(list.body.data[0].id, created.body.id);
  });
});
