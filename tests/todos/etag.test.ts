import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type request from 'supertest';
import { tokenUser, type TestApp } from '../helpers/app';
import { createTodo, sleep, startTodosApp } from '../helpers/todos';

const ETAG = /^(W\/)?"[^"]+"$/;

function etagOf(res: request.Response): string {
  const tag = res.headers.etag;
  assert.equal(typeof tag, 'string', `expected an ETag, got ${res.status} ${JSON.stringify(res.headers)}`);
  assert.match(tag!, ETAG);
  return tag!;
}

/** 304: no body bytes at all, the validator repeated. */
function assertNotModified(res: request.Response, tag: string): void {
  assert.equal(res.status, 304, res.text);
  assert.equal(res.text ?? '', '');
  assert.ok(res.headers['content-length'] === undefined || res.headers['content-length'] === '0');
  assert.equal(res.headers['content-type'], undefined);
  assert.equal(res.headers.etag, tag);
}

describe('todos: ETag and If-None-Match', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  it('when a todo is fetched with its current ETag, then it is 304 with no body', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'tagged');
    const first = await t.http().get(`/api/todos/${todo.id}`).set('Authorization', u.auth).expect(200);
    const tag = etagOf(first);
    assert.equal(first.body.id, todo.id);
    const again = await t.http().get(`/api/todos/${todo.id}`).set('Authorization', u.auth).set('If-None-Match', tag);
    assertNotModified(again, tag);
    const listed = await t
      .http()
      .get(`/api/todos/${todo.id}`)
      .set('Authorization', u.auth)
      .set('If-None-Match', `"something-else", ${tag}`);
    assertNotModified(listed, tag);
  });

  it('when a todo changes, then its old ETag gets 200 with the new body and a new ETag', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'before');
    const path = `/api/todos/${todo.id}`;
    const oldTag = etagOf(await t.http().get(path).set('Authorization', u.auth).expect(200));
    await sleep(2);
    await t.http().patch(path).set('Authorization', u.auth).send({ content: 'after' }).expect(200);
    const changed = await t.http().get(path).set('Authorization', u.auth).set('If-None-Match', oldTag).expect(200);
    assert.equal(changed.body.content, 'after');
    const newTag = etagOf(changed);
    assert.notEqual(newTag, oldTag);

    await t.http().put(`${path}/finish`).set('Authorization', u.auth).expect(200);
    const finished = await t.http().get(path).set('Authorization', u.auth).set('If-None-Match', newTag).expect(200);
    assert.equal(finished.body.is_finished, true);
    assert.notEqual(etagOf(finished), newTag);
    assertNotModified(await t.http().get(path).set('Authorization', u.auth).set('If-None-Match', etagOf(finished)), etagOf(finished));
  });

  it('when the list is fetched with its current ETag, then it is 304; after a create, update or delete it is 200 with a new ETag', async () => {
    const u = await tokenUser(t);
    const a = await createTodo(t, u, 'a');
    const first = await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
    let tag = etagOf(first);
    assertNotModified(await t.http().get('/api/todos').set('Authorization', u.auth).set('If-None-Match', tag), tag);

    const steps: Array<[string, () => Promise<unknown>, (body: { data: Array<{ id: string; content: string }> }) => void]> = [
      [
        'create',
        () => createTodo(t, u, 'b'),
        (body) =>
          assert.deepEqual(
            body.data.map((x) => x.content),
            ['b', 'a'],
          ),
      ],
      [
        'update',
        () => t.http().patch(`/api/todos/${a.id}`).set('Authorization', u.auth).send({ content: 'a2' }).expect(200),
        (body) =>
          assert.deepEqual(
            body.data.map((x) => x.content),
            ['b', 'a2'],
          ),
      ],
      [
        'delete',
        () => t.http().delete(`/api/todos/${a.id}`).set('Authorization', u.auth).expect(204),
        (body) =>
          assert.deepEqual(
            body.data.map((x) => x.content),
            ['b'],
          ),
      ],
    ];
    for (const [what, change, check] of steps) {
      await sleep(2);
      await change();
      const res = await t.http().get('/api/todos').set('Authorization', u.auth).set('If-None-Match', tag);
      assert.equal(res.status, 200, `after ${what} the old list ETag must not match`);
      check(res.body);
      const next = etagOf(res);
      assert.notEqual(next, tag, `after ${what} the list ETag must change`);
      tag = next;
      assertNotModified(await t.http().get('/api/todos').set('Authorization', u.auth).set('If-None-Match', tag), tag);
    }
  });

  it("when two users have lists, then one user's list ETag does not produce a 304 for the other", async () => {
    const [a, b] = await Promise.all([tokenUser(t, 'a'), tokenUser(t, 'b')]);
    await createTodo(t, a, 'a');
    await createTodo(t, b, 'b');
    const tagA = etagOf(await t.http().get('/api/todos').set('Authorization', a.auth).expect(200));
    const resB = await t.http().get('/api/todos').set('Authorization', b.auth).set('If-None-Match', tagA).expect(200);
    assert.equal(resB.body.data[0].content, 'b');
  });

  it("when a different page or filter is asked with the first page's ETag, then it is 200", async () => {
    const u = await tokenUser(t);
    for (const c of ['x', 'y', 'z']) await createTodo(t, u, c);
    await t
      .http()
      .put(`/api/todos/${(await createTodo(t, u, 'w')).id}/finish`)
      .set('Authorization', u.auth)
      .expect(200);
    const tag = etagOf(await t.http().get('/api/todos').set('Authorization', u.auth).expect(200));
    for (const q of ['?limit=2', '?is_finished=true', '?start=1']) {
      const res = await t.http().get(`/api/todos${q}`).set('Authorization', u.auth).set('If-None-Match', tag);
      assert.equal(res.status, 200, `${q} must not match the first page's ETag`);
      assert.notEqual(etagOf(res), tag);
    }
  });

  it('when a todo or the list is fetched, then Cache-Control keeps it private and makes clients revalidate', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'private');
    for (const path of ['/api/todos', `/api/todos/${todo.id}`]) {
      const res = await t.http().get(path).set('Authorization', u.auth).expect(200);
      const cc = String(res.headers['cache-control']);
      assert.match(cc, /\bprivate\b/, `${path} must not be stored by shared caches`);
      assert.match(cc, /\bno-cache\b/, `${path} must be revalidated`);
    }
  });
});
