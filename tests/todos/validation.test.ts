import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type request from 'supertest';
import { assertProblem, tokenUser, type TestApp } from '../helpers/app';
import { assertTodo, countTodos, createTodo, startTodosApp } from '../helpers/todos';

type FieldError = { field: string; message: string; expected: string };

/** A 422 problem whose errors[] names exactly these fields, each with a message and an expectation. */
function assertValidation(res: request.Response, fields: string[]): FieldError[] {
  const body = assertProblem(res, 422);
  assert.equal(body.type, '/problems/validation-failed');
  assert.equal(body.retryable, false);
  const errors = body.errors as FieldError[];
  assert.ok(Array.isArray(errors), 'a validation problem lists its errors');
  assert.deepEqual([...new Set(errors.map((e) => e.field))].sort(), [...fields].sort());
  for (const e of errors) {
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0, 'each error says what failed');
    assert.equal(typeof e.expected, 'string');
    assert.ok(e.expected.length > 0, 'each error says what was expected');
  }
  return errors;
}

const EMOJI = '\u{1F600}'; // one code point, two UTF-16 units, four UTF-8 bytes

describe('todos: content and body validation', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  it('when content is 1000 emoji, then it is accepted and stored exactly', async () => {
    const u = await tokenUser(t);
    const content = EMOJI.repeat(1000);
    const todo = await createTodo(t, u, content);
    assert.equal(todo.content, content);
    assert.equal([...todo.content].length, 1000);
  });

  it('when content is 1000 code points inside surrounding whitespace, then it is accepted after trimming', async () => {
    const u = await tokenUser(t);
    const content = 'x'.repeat(1000);
    const todo = await createTodo(t, u, `   ${content}\n\t `);
    assert.equal(todo.content, content);
  });

  it('when content is 1001 emoji or 1001 letters, then it is 422 on content and nothing is stored', async () => {
    const u = await tokenUser(t);
    for (const content of [EMOJI.repeat(1001), 'y'.repeat(1001)]) {
      const res = await t.http().post('/api/todos').set('Authorization', u.auth).send({ content });
      const [error] = assertValidation(res, ['content']);
      assert.match(error!.expected, /1000/);
    }
    assert.equal(await countTodos(t, u.id), 0);
  });

  it('when content is empty or only whitespace, then it is 422 with errors[] on content', async () => {
    const u = await tokenUser(t);
    for (const content of ['', '   ', '\n\t \u00a0\u3000']) {
      const res = await t.http().post('/api/todos').set('Authorization', u.auth).send({ content });
      const [error] = assertValidation(res, ['content']);
      assert.match(error!.message, /empty/);
    }
    const form = await t.http().post('/api/todos').set('Authorization', u.auth).type('form').send('content=+++');
    assertValidation(form, ['content']);
    assert.equal(await countTodos(t, u.id), 0);
  });

  it('when content is missing, not a string, or the body has an unknown field, then it is 422 naming the field', async () => {
    const u = await tokenUser(t);
    assertValidation(await t.http().post('/api/todos').set('Authorization', u.auth).send({}), ['content']);
    assertValidation(await t.http().post('/api/todos').set('Authorization', u.auth), ['content']);
    assertValidation(await t.http().post('/api/todos').set('Authorization', u.auth).send({ content: 42 }), ['content']);
    assertValidation(
      await t
        .http()
        .post('/api/todos')
        .set('Authorization', u.auth)
        .send({ content: ['a'] }),
      ['content'],
    );
    assertValidation(await t.http().post('/api/todos').set('Authorization', u.auth).send({ content: 'ok', is_finished: true }), [
      'is_finished',
    ]);
    assertValidation(await t.http().post('/api/todos').set('Authorization', u.auth).type('form').send('content=ok&owner=someone'), [
      'owner',
    ]);
    assert.equal(await countTodos(t, u.id), 0);
  });

  it('when content holds NUL or a lone surrogate, then it is 422 rather than a server error', async () => {
    const u = await tokenUser(t);
    for (const raw of ['{"content":"a\\u0000b"}', '{"content":"a\\ud800b"}']) {
      const res = await t.http().post('/api/todos').set('Authorization', u.auth).type('json').send(raw);
      assertValidation(res, ['content']);
    }
    assert.equal(await countTodos(t, u.id), 0);
  });

  it('when a PATCH body is empty, then it is 422 and the todo is unchanged', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'keep');
    const path = `/api/todos/${todo.id}`;
    assertValidation(await t.http().patch(path).set('Authorization', u.auth).send({}), ['(body)']);
    assertValidation(await t.http().patch(path).set('Authorization', u.auth), ['(body)']);
    const read = await t.http().get(path).set('Authorization', u.auth).expect(200);
    assert.deepEqual(read.body, todo);
  });

  it('when a PATCH body has an unknown field, then it is 422 naming it and nothing changes', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'keep');
    const path = `/api/todos/${todo.id}`;
    const res = await t.http().patch(path).set('Authorization', u.auth).send({ content: 'changed', done: true });
    const [error] = assertValidation(res, ['done']);
    assert.match(error!.expected, /content/);
    assert.match(error!.expected, /is_finished/);
    const read = await t.http().get(path).set('Authorization', u.auth).expect(200);
    assert.deepEqual(read.body, todo);
  });

  it('when a JSON PATCH sends is_finished as a string, null or number, then it is 422 on is_finished', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'strict');
    const path = `/api/todos/${todo.id}`;
    for (const value of ['true', 'false', null, 1]) {
      const res = await t.http().patch(path).set('Authorization', u.auth).send({ is_finished: value });
      assertValidation(res, ['is_finished']);
    }
    const read = await t.http().get(path).set('Authorization', u.auth).expect(200);
    assert.equal(assertTodo(read.body).is_finished, false);
  });

  it('when a form PATCH sends is_finished=yes or whitespace-only content, then it is 422', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'form');
    const path = `/api/todos/${todo.id}`;
    assertValidation(await t.http().patch(path).set('Authorization', u.auth).type('form').send('is_finished=yes'), ['is_finished']);
    assertValidation(await t.http().patch(path).set('Authorization', u.auth).type('form').send('content=%20%20'), ['content']);
    assertValidation(
      await t
        .http()
        .patch(path)
        .set('Authorization', u.auth)
        .send({ content: 'z'.repeat(1001) }),
      ['content'],
    );
    const read = await t.http().get(path).set('Authorization', u.auth).expect(200);
    assert.deepEqual(read.body, todo);
  });

  it('when a PATCH field breaks a rule, then errors[].expected describes the field as well as POST does', async () => {
    const u = await tokenUser(t);
    const todo = await createTodo(t, u, 'explain yourself');
    const path = `/api/todos/${todo.id}`;
    const [postError] = assertValidation(await t.http().post('/api/todos').set('Authorization', u.auth).send({ content: ' ' }), [
      'content',
    ]);
    assert.match(postError!.expected, /1 to 1000/);
    const [tooLong] = assertValidation(
      await t
        .http()
        .patch(path)
        .set('Authorization', u.auth)
        .send({ content: 'z'.repeat(1001) }),
      ['content'],
    );
    assert.equal(tooLong!.expected, postError!.expected);
    const [blank] = assertValidation(await t.http().patch(path).set('Authorization', u.auth).send({ content: ' ' }), ['content']);
    assert.equal(blank!.expected, postError!.expected);
    const [flag] = assertValidation(await t.http().patch(path).set('Authorization', u.auth).send({ is_finished: 'true' }), ['is_finished']);
    assert.equal(flag!.expected, 'true or false');
  });
});
