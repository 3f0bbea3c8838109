import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import { uniqueSlug } from '../helpers/accounts';
import { startCachingApp } from '../helpers/caching';
import { createTodo } from '../helpers/todos';

// The public pages are cached by nginx only (one second); the app answers
// them from PostgreSQL, so nginx's copy is never older than its own TTL.
describe('public pages: what the edge cache may keep', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    [a, b] = await Promise.all([startCachingApp(), startCachingApp()]);
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  async function publisher(): Promise<{ u: TokenUser; slug: string }> {
    const u = await tokenUser(a, 'publisher');
    const slug = uniqueSlug('pub');
    await a.http().patch('/api/me').set('Authorization', u.auth).send({ public_slug: slug }).expect(200);
    return { u, slug };
  }

  it('when the owner writes on one instance, then the public list and page on the other show it at once', async () => {
    const { u, slug } = await publisher();
    const first = await createTodo(a, u, 'first');
    // The owner's private first page is cached on both instances.
    for (const t of [a, b, a, b]) await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
    await b.http().get(`/api/public/${slug}/todos`).expect(200);

    const second = await createTodo(a, u, 'second <b>bold</b>');
    const json = await b.http().get(`/api/public/${slug}/todos`).expect(200);
    assert.deepEqual(
      json.body.data.map((x: { id: string }) => x.id),
      [second.id, first.id],
    );
    const html = await b.http().get(`/u/${slug}`).expect(200);
    assert.ok(html.text.includes('second &lt;b&gt;bold&lt;/b&gt;'), 'the new todo is on the page, escaped');

    await a.http().delete(`/api/todos/${second.id}`).set('Authorization', u.auth).expect(204);
    const afterDelete = await b.http().get(`/api/public/${slug}/todos`).expect(200);
    assert.deepEqual(
      afterDelete.body.data.map((x: { id: string }) => x.id),
      [first.id],
    );
  });

  it('when public pages are read, then they are public for one second, set no cookie, and are the same with or without credentials', async () => {
    const { u, slug } = await publisher();
    await createTodo(a, u, 'shared');
    for (const path of [`/api/public/${slug}/todos`, `/u/${slug}`]) {
      const anonymous = await a.http().get(path).expect(200);
      const withToken = await a.http().get(path).set('Authorization', u.auth).expect(200);
      const withCookie = await a.http().get(path).set('Cookie', u.cookie).expect(200);
      for (const res of [anonymous, withToken, withCookie]) {
        assert.equal(res.headers['cache-control'], 'public, max-age=1', path);
        assert.equal(res.headers['set-cookie'], undefined, `${path} must not set a cookie`);
        assert.equal(res.text, anonymous.text, `${path} does not depend on who asks`);
      }
    }
  });

  it('when the slug is unknown, then 404 is also public for one second and sets no cookie', async () => {
    const res = await a
      .http()
      .get(`/u/${uniqueSlug('nobody')}`)
      .expect(404);
    assert.equal(res.headers['cache-control'], 'public, max-age=1');
    assert.equal(res.headers['set-cookie'], undefined);
    assert.match(String(res.headers['content-type']), /^text\/html/);
  });

  it('when the owner unpublishes, then the public list is 404 at once on every instance', async () => {
    const { u, slug } = await publisher();
    await b.http().get(`/api/public/${slug}/todos`).expect(200);
    await a.http().patch('/api/me').set('Authorization', u.auth).send({ public_slug: null }).expect(200);
    for (const t of [a, b]) {
      await t.http().get(`/api/public/${slug}/todos`).expect(404);
      await t.http().get(`/u/${slug}`).expect(404);
    }
  });
});
