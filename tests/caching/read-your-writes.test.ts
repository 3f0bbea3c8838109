import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import { dbFirstPage, getList, shown, startCachingApp, xCache } from '../helpers/caching';
import { seedTodos, type PageJson, type TodoJson } from '../helpers/todos';

type Kind = 'create' | 'create with Idempotency-Key' | 'PATCH content' | 'PATCH is_finished' | 'PUT finish' | 'DELETE';
const KINDS: Kind[] = ['create', 'create with Idempotency-Key', 'PATCH content', 'PATCH is_finished', 'PUT finish', 'DELETE'];
const LIMITS = [1, 2, 5, 10, 20];
const ROUNDS = 36;

type Shape = { limit: number; isFinished?: boolean };

/** A first-page shape in which the write is visible: a new todo is open, PUT finish needs an open one. */
function shapeFor(kind: Kind, round: number): Shape {
  const limit = LIMITS[(round * 7) % LIMITS.length]!;
  const filters: Array<boolean | undefined> = kind.startsWith('create')
    ? [undefined, false]
    : kind === 'PUT finish'
      ? [false]
      : [undefined, true, false];
  const isFinished = filters[Math.floor(round / KINDS.length) % filters.length];
  return isFinished === undefined ? { limit } : { limit, isFinished };
}

const queryOf = (s: Shape): Record<string, string> =>
  s.isFinished === undefined ? { limit: String(s.limit) } : { limit: String(s.limit), is_finished: String(s.isFinished) };

/** Performs one write as u on the writer and says what the next first page must show. */
async function write(w: TestApp, u: TokenUser, kind: Kind, round: number, target: TodoJson, shape: Shape) {
  const api = () => w.http();
  const path = `/api/todos/${target.id}`;
  switch (kind) {
    case 'create':
    case 'create with Idempotency-Key': {
      const req = api().post('/api/todos').set('Authorization', u.auth);
      if (kind !== 'create') req.set('Idempotency-Key', randomUUID());
      const res = await req.send({ content: `round ${round}` });
      assert.equal(res.status, 201, res.text);
      return (page: PageJson) => assert.deepEqual(shown(page)[0], { id: res.body.id, content: `round ${round}`, is_finished: false });
    }
    case 'PATCH content': {
      await api()
        .patch(path)
        .set('Authorization', u.auth)
        .send({ content: `edited ${round}` })
        .expect(200);
      return (page: PageJson) => assert.equal(page.data.find((x) => x.id === target.id)?.content, `edited ${round}`);
    }
    case 'PATCH is_finished': {
      await api().patch(path).set('Authorization', u.auth).send({ is_finished: !target.is_finished }).expect(200);
      return (page: PageJson) => {
        const now = page.data.find((x) => x.id === target.id);
        if (shape.isFinished === undefined) assert.equal(now?.is_finished, !target.is_finished);
        else assert.equal(now, undefined, 'it left the filtered page');
      };
    }
    case 'PUT finish': {
      await api().put(`${path}/finish`).set('Authorization', u.auth).expect(200);
      return (page: PageJson) =>
        assert.equal(
          page.data.find((x) => x.id === target.id),
          undefined,
          'it left the open page',
        );
    }
    case 'DELETE': {
      await api().delete(path).set('Authorization', u.auth).expect(204);
      return (page: PageJson) =>
        assert.equal(
          page.data.find((x) => x.id === target.id),
          undefined,
          'it is gone',
        );
    }
  }
}

/**
 * Each round caches a first page on the reader (a HIT proves it is cached),
 * writes on the writer, and reads the same page at once on the reader.
 */
async function rounds(u: TokenUser, writerOf: (round: number) => TestApp, readerOf: (round: number) => TestApp) {
  for (let round = 0; round < ROUNDS; round++) {
    const kind = KINDS[round % KINDS.length]!;
    const shape = shapeFor(kind, round);
    const reader = readerOf(round);
    const what = `round ${round}: ${kind} seen in ${JSON.stringify(queryOf(shape))}`;
    await getList(reader, u, queryOf(shape));
    const cached = await getList(reader, u, queryOf(shape));
    assert.equal(xCache(cached), 'HIT', `${what}: the page is cached before the write`);
    const target = (cached.body as PageJson).data[0];
    assert.ok(target, `${what}: the page has a todo to change`);

    const check = await write(writerOf(round), u, kind, round, target, shape);
    const next = await getList(reader, u, queryOf(shape));
    assert.notEqual(xCache(next), 'HIT', `${what}: the cached page was invalidated`);
    check(next.body as PageJson);
    assert.deepEqual(shown(next.body as PageJson), await dbFirstPage(reader, u.id, shape.limit, shape.isFinished), what);
  }
}

describe('app cache: read-your-writes', () => {
  let a: TestApp;
  let b: TestApp;
  before(async () => {
    [a, b] = await Promise.all([startCachingApp(), startCachingApp()]);
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it(`when each kind of write is followed by a read of a cached first page (${ROUNDS} rounds), then the read reflects the write`, async () => {
    const u = await tokenUser(a, 'ryw');
    await seedTodos(a, u.id, 40, { finishedExpr: 'i % 2 = 0' });
    await rounds(
      u,
      () => a,
      () => a,
    );
  });

  it(`when two instances share Redis and each write on one is read at once on the other (${ROUNDS} rounds), then the other sees it`, async () => {
    const u = await tokenUser(a, 'ryw-two');
    await seedTodos(a, u.id, 40, { finishedExpr: 'i % 2 = 0' });
    await rounds(
      u,
      (r) => (r % 2 ? b : a),
      (r) => (r % 2 ? a : b),
    );
  });

  it('when an Idempotency-Key create is replayed, then the cached page still shows the todo once', async () => {
    const u = await tokenUser(a, 'ryw-replay');
    const key = randomUUID();
    const first = await a
      .http()
      .post('/api/todos')
      .set('Authorization', u.auth)
      .set('Idempotency-Key', key)
      .send({ content: 'once' })
      .expect(201);
    await getList(b, u);
    const replay = await b
      .http()
      .post('/api/todos')
      .set('Authorization', u.auth)
      .set('Idempotency-Key', key)
      .send({ content: 'once' })
      .expect(201);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    assert.equal(replay.body.id, first.body.id);
    for (const t of [a, b]) {
      assert.deepEqual(
        (await getList(t, u)).body.data.map((x: TodoJson) => x.id),
        [first.body.id],
      );
    }
  });
});
