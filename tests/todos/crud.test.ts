import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem, tokenUser, type TestApp } from '../helpers/app';
import { assertJson, assertTodo, createTodo, sleep, startTodosApp } from '../helpers/todos';

describe('todos: create, read, update, finish, delete', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  it('when a todo is posted as JSON, then it is 201 with Location, trimmed content and an open todo', async () => {
    const u = await tokenUser(t);
    const before = Date.now();
    const res = await t.http().post('/api/todos').set('Authorization', u.auth).send({ content: '  \t buy milk \n ' }).expect(201);
    assertJson(res);
    const todo = assertTodo(res.body);
    assert.equal(res.headers.location, `/api/todos/${todo.id}`);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(todo.content, 'buy milk');
    assert.equal(todo.is_finished, false);
    assert.equal(todo.finished_at, null);
    assert.equal(todo.updated_at, todo.created_at);
    const created = Date.parse(todo.created_at);
    assert.ok(created >= before - 1000 && created <= Date.now() + 1000, `created_at ${todo.created_at} is not now`);
  });

  it('when a todo is posted as a form, then it is created the same way', async () => {
    const u = await tokenUser(t);
    const res = await t.http().post('/api/todos').set('Authorization', u.auth).type('form').send('content=+walk+the+dog+').expect(201);
    assertJson(res);
    const todo = assertTodo(res.body);
    assert.equal(todo.content, 'walk the dog');
    assert.equal(res.headers.location, `/api/todos/${todo.id}`);
  });

  it('when the Location of a new todo is fetched, then it is the same todo', async () => {
    const u = await tokenUser(t);
    const created = await t.http().post('/api/todos').set('Authorization', u.auth).send({ content: 'read me' }).expect(201);
    const res = await t.http().get(created.headers.location!).set('Authorization', u.auth).expect(200);
    assertJson(res);
    assert.deepEqual(assertTodo(res.body), created.body);
    assert.equal(res.headers['cache-control'], 'private, no-cache');
  });

  it('when the content is patched, then it is trimmed and nothing else changes but updated_at', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'draft');
    await sleep(5);
    const res = await t.http().patch(`/api/todos/${todo.id}`).set('Authorization', u.auth).send({ content: '  final  ' }).expect(200);
    assertJson(res);
    const patched = assertTodo(res.body);
    assert.equal(patched.id, todo.id);
    assert.equal(patched.content, 'final');
    assert.equal(patched.is_finished, false);
    assert.equal(patched.created_at, todo.created_at);
    assert.ok(patched.updated_at > todo.updated_at, `updated_at ${patched.updated_at} should move past ${todo.updated_at}`);
    const read = await t.http().get(`/api/todos/${todo.id}`).set('Authorization', u.auth).expect(200);
    assert.deepEqual(read.body, patched);
  });

  it('when a todo is finished, finished again and unfinished, then finished_at is set, kept, then cleared', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'finish me');
    await sleep(5);
    const finished = assertTodo(
      (await t.http().patch(`/api/todos/${todo.id}`).set('Authorization', u.auth).send({ is_finished: true }).expect(200)).body,
    );
    assert.equal(finished.is_finished, true);
    assert.ok(finished.finished_at! > todo.created_at, 'finished_at is the moment of finishing');
    assert.equal(finished.content, 'finish me');

    await sleep(5);
    const again = assertTodo(
      (await t.http().patch(`/api/todos/${todo.id}`).set('Authorization', u.auth).send({ is_finished: true }).expect(200)).body,
    );
    assert.equal(again.finished_at, finished.finished_at, 'finishing again keeps the first finished_at');

    const reopened = assertTodo(
      (await t.http().patch(`/api/todos/${todo.id}`).set('Authorization', u.auth).send({ is_finished: false }).expect(200)).body,
    );
    assert.equal(reopened.is_finished, false);
    assert.equal(reopened.finished_at, null);
    const read = await t.http().get(`/api/todos/${todo.id}`).set('Authorization', u.auth).expect(200);
    assert.deepEqual(read.body, reopened);
  });

  it('when content and is_finished are patched together, then both change', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'both');
    const res = await t
      .http()
      .patch(`/api/todos/${todo.id}`)
      .set('Authorization', u.auth)
      .send({ content: 'both done', is_finished: true })
      .expect(200);
    const patched = assertTodo(res.body);
    assert.equal(patched.content, 'both done');
    assert.equal(patched.is_finished, true);
  });

  it('when a form PATCH says is_finished=true, then the todo is finished', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'form finish');
    const res = await t
      .http()
      .patch(`/api/todos/${todo.id}`)
      .set('Authorization', u.auth)
      .type('form')
      .send('is_finished=true')
      .expect(200);
    assertJson(res);
    const patched = assertTodo(res.body);
    assert.equal(patched.is_finished, true);
    const reopened = assertTodo(
      (
        await t
          .http()
          .patch(`/api/todos/${todo.id}`)
          .set('Authorization', u.auth)
          .type('form')
          .send('is_finished=false&content=+again+')
          .expect(200)
      ).body,
    );
    assert.equal(reopened.is_finished, false);
    assert.equal(reopened.content, 'again');
  });

  it('when PUT /finish is called twice, then the todo is finished and keeps its first finished_at', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'tutorial verb');
    const first = await t.http().put(`/api/todos/${todo.id}/finish`).set('Authorization', u.auth).expect(200);
    assertJson(first);
    const finished = assertTodo(first.body);
    assert.equal(finished.is_finished, true);
    assert.equal(finished.content, 'tutorial verb');
    await sleep(5);
    const second = assertTodo((await t.http().put(`/api/todos/${todo.id}/finish`).set('Authorization', u.auth).expect(200)).body);
    assert.equal(second.is_finished, true);
    assert.equal(second.finished_at, finished.finished_at);
  });

  it('when a todo is deleted, then it is 204 with no body and later GET, PATCH, finish and DELETE are 404', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'delete me');
    const res = await t.http().delete(`/api/todos/${todo.id}`).set('Authorization', u.auth).expect(204);
    assert.equal(res.text, '');
    assert.equal(res.headers['content-type'], undefined);
    const path = `/api/todos/${todo.id}`;
    assertProblem(await t.http().get(path).set('Authorization', u.auth), 404);
    assertProblem(await t.http().patch(path).set('Authorization', u.auth).send({ content: 'x' }), 404);
    assertProblem(await t.http().put(`${path}/finish`).set('Authorization', u.auth), 404);
    const again = assertProblem(await t.http().delete(path).set('Authorization', u.auth), 404);
    assert.equal(again.type, '/problems/not-found');
    assert.equal(again.retryable, false);
    const list = await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
    assert.deepEqual(list.body, { data: [], next_cursor: null });
  });

  it('when an id is a well-formed UUID that names no todo, then every route is a 404 problem', async () => {
    const u = await tokenUser(t);
    const path = '/api/todos/3f1c2a9e-7b4d-4c1e-9a2b-5d6e7f8a9b0c';
    for (const res of [
      await t.http().get(path).set('Authorization', u.auth),
      await t.http().patch(path).set('Authorization', u.auth).send({ is_finished: true }),
      await t.http().put(`${path}/finish`).set('Authorization', u.auth),
      await t.http().delete(path).set('Authorization', u.auth),
    ]) {
      assert.equal(assertProblem(res, 404).type, '/problems/not-found');
    }
  });
});
