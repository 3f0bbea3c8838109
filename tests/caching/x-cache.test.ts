import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tokenUser, type TestApp } from '../helpers/app';
import { dbFirstPage, firstPageField, getList, listKey, readEntry, shown, startCachingApp, xCache } from '../helpers/caching';
import { seedTodos, type PageJson } from '../helpers/todos';

describe('app cache: X-Cache on GET /api/todos', () => {
  let t: TestApp;
  before(async () => {
    t = await startCachingApp();
  });
  after(() => t.close());

  it('when a user reads the first page twice, then the first is a MISS and the second a HIT with the same body and ETag', async () => {
    const u = await tokenUser(t, 'x-cache');
    await seedTodos(t, u.id, 12);
    const first = await getList(t, u);
    assert.equal(xCache(first), 'MISS');
    assert.deepEqual(shown(first.body as PageJson), await dbFirstPage(t, u.id, 10));
    const second = await getList(t, u);
    assert.equal(xCache(second), 'HIT');
    assert.equal(second.text, first.text);
    assert.equal(second.headers.etag, first.headers.etag);
    assert.equal(second.headers['content-type'], 'application/json; charset=utf-8');

    const entry = await readEntry(t.deps.cacheRedis, listKey(u.id), firstPageField());
    assert.ok(entry, "the first page is stored in the user's hash");
    assert.equal((entry.value as { body: string }).body, first.text);
  });

  it('when a HIT is asked with its ETag in If-None-Match, then it is 304 with no body and still says HIT', async () => {
    const u = await tokenUser(t, 'etag-hit');
    await seedTodos(t, u.id, 3);
    const tag = (await getList(t, u)).headers.etag as string;
    assert.ok(tag);
    const hit = await t.http().get('/api/todos').set('Authorization', u.auth).set('If-None-Match', tag);
    assert.equal(hit.status, 304);
    assert.equal(xCache(hit), 'HIT');
    assert.equal(hit.text ?? '', '');
    assert.equal(hit.headers.etag, tag);

    const other = await t.http().get('/api/todos').set('Authorization', u.auth).set('If-None-Match', 'W/"not-it"');
    assert.equal(other.status, 200);
    assert.equal(xCache(other), 'HIT');
    assert.equal(other.headers.etag, tag);
  });

  it('when deeper pages are read by cursor or by start, then each is a BYPASS every time, with the right rows, and nothing is stored for them', async () => {
    const u = await tokenUser(t, 'deep');
    await seedTodos(t, u.id, 25);
    const all = await dbFirstPage(t, u.id, 100);
    const first = await getList(t, u);
    const cursor = (first.body as PageJson).next_cursor;
    assert.ok(cursor);
    for (let i = 0; i < 2; i++) {
      const byCursor = await getList(t, u, { cursor });
      assert.equal(xCache(byCursor), 'BYPASS', `cursor page, read ${i + 1}`);
      assert.deepEqual(shown(byCursor.body as PageJson), all.slice(10, 20));
      const byStart = await getList(t, u, { start: '20' });
      assert.equal(xCache(byStart), 'BYPASS', `start=20, read ${i + 1}`);
      assert.deepEqual(shown(byStart.body as PageJson), all.slice(20, 25));
      const startZero = await getList(t, u, { start: '0', limit: '5' });
      assert.equal(xCache(startZero), 'BYPASS', 'offset paging is never cached, even at 0');
      assert.deepEqual(shown(startZero.body as PageJson), all.slice(0, 5));
    }
    assert.deepEqual(await t.deps.cacheRedis.hkeys(listKey(u.id)), [firstPageField()]);
  });

  it('when the limit or is_finished differs, then each shape is its own entry: MISS then HIT, each with its own rows', async () => {
    const u = await tokenUser(t, 'shapes');
    await seedTodos(t, u.id, 30, { finishedExpr: 'i % 3 = 0' });
    const shapes: Array<{ limit?: number; is_finished?: boolean }> = [
      {},
      { limit: 3 },
      { is_finished: true },
      { is_finished: false },
      { limit: 3, is_finished: true },
      { limit: 100 },
    ];
    for (const s of shapes) {
      const query: Record<string, string> = {};
      if (s.limit !== undefined) query.limit = String(s.limit);
      if (s.is_finished !== undefined) query.is_finished = String(s.is_finished);
      const expected = await dbFirstPage(t, u.id, s.limit ?? 10, s.is_finished);
      const miss = await getList(t, u, query);
      assert.equal(xCache(miss), 'MISS', `first read of ${JSON.stringify(query)}`);
      assert.deepEqual(shown(miss.body as PageJson), expected, JSON.stringify(query));
      const hit = await getList(t, u, query);
      assert.equal(xCache(hit), 'HIT', `second read of ${JSON.stringify(query)}`);
      assert.deepEqual(shown(hit.body as PageJson), expected, JSON.stringify(query));
    }
    // The default limit is 10: spelling it out is the same entry.
    assert.equal(xCache(await getList(t, u, { limit: '10' })), 'HIT');
    const fields = (await t.deps.cacheRedis.hkeys(listKey(u.id))).sort();
    assert.deepEqual(fields, shapes.map((s) => firstPageField(s.limit, s.is_finished)).sort());
  });

  it('when a user has no todos, then the empty first page is cached too: MISS then HIT', async () => {
    const u = await tokenUser(t, 'empty');
    const miss = await getList(t, u);
    assert.equal(xCache(miss), 'MISS');
    assert.deepEqual(miss.body, { data: [], next_cursor: null });
    const hit = await getList(t, u);
    assert.equal(xCache(hit), 'HIT');
    assert.deepEqual(hit.body, { data: [], next_cursor: null });
    assert.ok(await readEntry(t.deps.cacheRedis, listKey(u.id), firstPageField()), 'the empty page is stored');
  });

  it('when two users read their first pages, then each gets their own list from their own entry', async () => {
    const [a, b] = await Promise.all([tokenUser(t, 'a'), tokenUser(t, 'b')]);
    await seedTodos(t, a.id, 4);
    await seedTodos(t, b.id, 2);
    for (const read of ['MISS', 'HIT']) {
      const ra = await getList(t, a);
      const rb = await getList(t, b);
      assert.equal(xCache(ra), read);
      assert.equal(xCache(rb), read);
      assert.deepEqual(shown(ra.body as PageJson), await dbFirstPage(t, a.id, 10));
      assert.deepEqual(shown(rb.body as PageJson), await dbFirstPage(t, b.id, 10));
    }
  });
});
