import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type request from 'supertest';
import { assertProblem, signUp, tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import { raceAtGate } from '../helpers/race';
import { assertTodo, createTodo, startTodosApp, type TodoJson } from '../helpers/todos';

// PATCH, PUT …/finish and DELETE of a todo with If-Match: 412 when the todo
// changed since the named version, decided inside the write's own statement.

const STRONG = /^"[^"]+"$/;

/** The 412 every refused conditional write answers: its problem, and the todo's current ETag. */
function assertChanged(res: request.Response, current: string): Record<string, unknown> {
  const problem = assertProblem(res, 412);
  assert.equal(problem.type, '/problems/todo-changed');
  assert.equal(problem.retryable, false);
  assert.equal(res.headers.etag, current, 'the 412 carries the current ETag');
  assert.deepEqual(problem.errors, [
    { field: 'If-Match', message: 'does not name the current version of the todo', expected: `its current ETag, ${current}` },
  ]);
  return problem;
}

describe('todos: conditional writes (If-Match)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  const path = (todo: { id: string }) => `/api/todos/${todo.id}`;
  const read = async (u: TokenUser, todo: { id: string }) => {
    const res = await t.http().get(path(todo)).set('Authorization', u.auth).expect(200);
    return { todo: assertTodo(res.body), etag: String(res.headers.etag) };
  };
  const writes = (u: TokenUser, todo: TodoJson, ifMatch: string) =>
    [
      ['PATCH', () => t.http().patch(path(todo)).set('Authorization', u.auth).set('If-Match', ifMatch).send({ content: 'mine' })],
      [
        'PUT finish',
        () =>
          t
            .http()
            .put(`${path(todo)}/finish`)
            .set('Authorization', u.auth)
            .set('If-Match', ifMatch),
      ],
      ['DELETE', () => t.http().delete(path(todo)).set('Authorization', u.auth).set('If-Match', ifMatch)],
    ] as const;

  it("when a todo is read, then its ETag is strong, its updated_at quoted, and a write with it answers the new version's ETag", async () => {
    const u = await tokenUser(t);
    const created = await createTodo(t, u, 'tagged');
    const { todo, etag } = await read(u, created);
    assert.match(etag, STRONG);
    assert.equal(etag, `"${todo.updated_at}"`);

    const patched = await t
      .http()
      .patch(path(todo))
      .set('Authorization', u.auth)
      .set('If-Match', etag)
      .send({ content: 'changed' })
      .expect(200);
    assert.equal(patched.body.content, 'changed');
    assert.equal(patched.headers.etag, `"${patched.body.updated_at}"`);
    assert.notEqual(patched.headers.etag, etag);
    assert.equal((await read(u, todo)).etag, patched.headers.etag, 'GET gives the ETag the write answered');

    const finished = await t
      .http()
      .put(`${path(todo)}/finish`)
      .set('Authorization', u.auth)
      .set('If-Match', String(patched.headers.etag))
      .expect(200);
    assert.equal(finished.body.is_finished, true);
    assert.equal(finished.headers.etag, `"${finished.body.updated_at}"`);
    await t.http().delete(path(todo)).set('Authorization', u.auth).set('If-Match', String(finished.headers.etag)).expect(204);
    await t.http().get(path(todo)).set('Authorization', u.auth).expect(404);
  });

  it('when PATCH, PUT finish or DELETE names a version the todo has moved on from, then each is 412 with the current ETag and the todo is untouched', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'original');
    const stale = (await read(u, todo)).etag;
    await t.http().patch(path(todo)).set('Authorization', u.auth).send({ content: 'changed elsewhere' }).expect(200);
    const now = await read(u, todo);
    for (const [what, send] of writes(u, todo, stale)) {
      assertChanged(await send(), now.etag);
      assert.deepEqual(await read(u, todo), now, `${what}: nothing was written`);
    }
  });

  it('when If-Match is "*", a list that holds the current ETag, or the weak form of it, then the first two write and the weak one never matches', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'lists');
    let { etag } = await read(u, todo);
    const weak = await t.http().patch(path(todo)).set('Authorization', u.auth).set('If-Match', `W/${etag}`).send({ content: 'weak' });
    assertChanged(weak, etag);

    const listed = await t
      .http()
      .patch(path(todo))
      .set('Authorization', u.auth)
      .set('If-Match', `"2000-01-01T00:00:00.000Z", W/"x" ,, ${etag}`)
      .send({ content: 'listed' })
      .expect(200);
    etag = String(listed.headers.etag);
    await t
      .http()
      .put(`${path(todo)}/finish`)
      .set('Authorization', u.auth)
      .set('If-Match', '*')
      .expect(200);
    assertChanged(
      await t.http().delete(path(todo)).set('Authorization', u.auth).set('If-Match', `"not-a-version", ${etag}`),
      (await read(u, todo)).etag,
    );
    await t.http().delete(path(todo)).set('Authorization', u.auth).set('If-Match', '*').expect(204);
  });

  it('when If-Match is not valid, then it is a 422 naming the header, and nothing is written', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'still here');
    const before = await read(u, todo);
    for (const bad of ['abc', '"a" "b"', '*, "a"', '"unterminated', 'W/ "a"', '"a b"']) {
      for (const [what, send] of writes(u, todo, bad)) {
        const problem = assertProblem(await send(), 422);
        assert.equal(problem.type, '/problems/validation-failed', `${what} ${bad}`);
        const [error] = problem.errors as Array<{ field: string; expected: string }>;
        assert.equal(error!.field, 'If-Match');
        assert.match(error!.expected, /ETag/);
      }
    }
    assert.deepEqual(await read(u, todo), before);
  });

  it('when If-Match is an empty list, then it names no version and the write is a 412', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'empty list');
    const { etag } = await read(u, todo);
    for (const empty of ['', ' ', ' , ,']) {
      for (const [, send] of writes(u, todo, empty)) assertChanged(await send(), etag);
    }
  });

  it('when the todo is gone, or is another user’s, then a conditional write is the usual 404', async () => {
    const u = await tokenUser(t);
    const other = await tokenUser(t);
    const todo = await createTodo(t, u, 'soon gone');
    const { etag } = await read(u, todo);
    for (const [, send] of writes(other, todo, etag)) assertProblem(await send(), 404);
    await t.http().delete(path(todo)).set('Authorization', u.auth).expect(204);
    for (const [, send] of writes(u, todo, etag)) assertProblem(await send(), 404);
  });

  it('when writes come within one millisecond, then every version still gets its own ETag, and an old one never matches again', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'v0');
    const seen = new Set([(await read(u, todo)).etag]);
    for (let i = 1; i <= 20; i++) {
      const res = await t
        .http()
        .patch(path(todo))
        .set('Authorization', u.auth)
        .send({ content: `v${i}` })
        .expect(200);
      assert.ok(!seen.has(String(res.headers.etag)), `version ${i} has a new ETag (${res.headers.etag})`);
      seen.add(String(res.headers.etag));
    }
    const current = (await read(u, todo)).etag;
    for (const old of [...seen].filter((tag) => tag !== current)) {
      assertChanged(await t.http().patch(path(todo)).set('Authorization', u.auth).set('If-Match', old).send({ content: 'lost' }), current);
    }
  });

  it('when eight clients write one todo at once with the same ETag, then exactly one wins and the others get 412', async () => {
    const u = await tokenUser(t);
    for (const kind of ['PATCH', 'DELETE', 'mixed'] as const) {
      const todo = await createTodo(t, u, `raced ${kind}`);
      const { etag } = await read(u, todo);
      const racers = Array.from({ length: 8 }, (_, i) => () => {
        const del = kind === 'DELETE' || (kind === 'mixed' && i % 2 === 0);
        const req = del
          ? t.http().delete(path(todo))
          : t
              .http()
              .patch(path(todo))
              .send({ content: `racer ${i}` });
        return req
          .set('Authorization', u.auth)
          .set('If-Match', etag)
          .then((res) => res);
      });
      const answers = await raceAtGate('todos', racers);
      const won = answers.filter((res) => res.status === 200 || res.status === 204);
      assert.equal(won.length, 1, `${kind}: ${answers.map((res) => res.status).join(' ')}`);
      const deleted = won[0]!.status === 204;
      for (const lost of answers.filter((res) => res !== won[0])) {
        // A loser reads after the winner: the todo's new version, or gone.
        if (deleted) assert.ok(lost.status === 404 || lost.status === 412, `${kind}: ${lost.status}`);
        else assertChanged(lost, String(won[0]!.headers.etag));
      }
      if (!deleted) assert.equal((await read(u, todo)).todo.content, won[0]!.body.content);
    }
  });

  it('when a browser session edits with If-Match as a form, then it works as for a token', async () => {
    const s = await signUp(t);
    const created = await t
      .http()
      .post('/api/todos')
      .set('Cookie', s.cookie)
      .set('X-CSRF-Token', s.csrf)
      .send({ content: 'form' })
      .expect(201);
    const etag = `"${created.body.updated_at}"`;
    const res = await t
      .http()
      .patch(`/api/todos/${created.body.id}`)
      .set('Cookie', s.cookie)
      .set('X-CSRF-Token', s.csrf)
      .set('If-Match', etag)
      .type('form')
      .send('is_finished=true')
      .expect(200);
    assert.equal(res.body.is_finished, true);
    const stale = await t
      .http()
      .delete(`/api/todos/${created.body.id}`)
      .set('Cookie', s.cookie)
      .set('X-CSRF-Token', s.csrf)
      .set('If-Match', etag);
    assertChanged(stale, String(res.headers.etag));
  });
});
