import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { raceAtGate } from '../helpers/race';
import { stack, stackSession } from '../helpers/stack';

// If-Match on a todo's writes through nginx, with the headers real clients
// send: Node's fetch (and browsers) ask for gzip and br, and a conditional
// request from fetch carries "Cache-Control: no-cache" as well.

type Session = Awaited<ReturnType<typeof stackSession>>;
type Todo = { id: string; content: string; updated_at: string };
type Client = { who: string; headers: Record<string, string> };

// Long enough that nginx would compress it (gzip_min_length 1024), which
// would turn its strong ETag into a weak one that If-Match never matches.
const LONG = 'a todo long enough to be compressed '.repeat(27);

async function assertChanged(res: Response, current: string, what: string): Promise<void> {
  assert.equal(res.status, 412, `${what}: ${res.status}`);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  assert.equal(res.headers.get('etag'), current, `${what}: the current ETag`);
  const problem = (await res.json()) as { type: string; retryable: boolean; request_id: string };
  assert.equal(problem.type, '/problems/todo-changed');
  assert.equal(problem.retryable, false);
  assert.equal(problem.request_id, res.headers.get('x-request-id'));
}

describe('conditional writes through nginx, with a token and with a browser session', () => {
  let owner: Session;
  let clients: Client[];
  before(async () => {
    owner = await stackSession();
    const minted = await fetch(`${stack.http}/api/tokens`, {
      method: 'POST',
      headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'if-match' }),
    });
    const { token } = (await minted.json()) as { token: string };
    clients = [
      { who: 'a token', headers: { authorization: `Bearer ${token}` } },
      { who: 'a session', headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf } },
    ];
  });

  const call = (c: Client, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
    fetch(`${stack.http}${path}`, {
      method,
      headers: {
        ...c.headers,
        'accept-encoding': 'gzip, br',
        'cache-control': 'no-cache',
        ...headers,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const create = async (c: Client, content: string) => {
    const res = await call(c, 'POST', '/api/todos', {}, { content });
    assert.equal(res.status, 201);
    return (await res.json()) as Todo;
  };
  const read = async (c: Client, todo: Todo) => {
    const res = await call(c, 'GET', `/api/todos/${todo.id}`);
    assert.equal(res.status, 200);
    return { etag: res.headers.get('etag')!, todo: (await res.json()) as Todo, encoding: res.headers.get('content-encoding') };
  };

  it('when a long todo is read and written through nginx, then its ETag stays strong, and a write with it answers the next one', async () => {
    for (const c of clients) {
      const todo = await create(c, LONG);
      const got = await read(c, todo);
      assert.equal(got.etag, `"${todo.updated_at}"`, `${c.who}: the app's strong ETag, unchanged by nginx`);
      const patched = await call(c, 'PATCH', `/api/todos/${todo.id}`, { 'if-match': got.etag }, { content: `${LONG}!` });
      assert.equal(patched.status, 200, c.who);
      const body = (await patched.json()) as Todo;
      assert.equal(patched.headers.get('etag'), `"${body.updated_at}"`);
      const finished = await call(c, 'PUT', `/api/todos/${todo.id}/finish`, { 'if-match': patched.headers.get('etag')! });
      assert.equal(finished.status, 200, c.who);
      assert.equal((await read(c, todo)).etag, finished.headers.get('etag'));
      const deleted = await call(c, 'DELETE', `/api/todos/${todo.id}`, { 'if-match': finished.headers.get('etag')! });
      assert.equal(deleted.status, 204, c.who);
    }
  });

  it('when PATCH, PUT finish or DELETE names an old ETag, then each is 412 with the current one, and the todo is as it was', async () => {
    for (const c of clients) {
      const todo = await create(c, LONG);
      const stale = (await read(c, todo)).etag;
      assert.equal((await call(c, 'PATCH', `/api/todos/${todo.id}`, {}, { content: 'changed elsewhere' })).status, 200);
      const now = await read(c, todo);
      await assertChanged(
        await call(c, 'PATCH', `/api/todos/${todo.id}`, { 'if-match': stale }, { content: 'mine' }),
        now.etag,
        `${c.who} PATCH`,
      );
      await assertChanged(await call(c, 'PUT', `/api/todos/${todo.id}/finish`, { 'if-match': stale }), now.etag, `${c.who} PUT finish`);
      await assertChanged(await call(c, 'DELETE', `/api/todos/${todo.id}`, { 'if-match': stale }), now.etag, `${c.who} DELETE`);
      // What compression would have made of the current ETag never matches either.
      await assertChanged(await call(c, 'DELETE', `/api/todos/${todo.id}`, { 'if-match': `W/${now.etag}` }), now.etag, `${c.who} weak`);
      assert.deepEqual(await read(c, todo), now);
    }
  });

  it('when a token and a browser write one todo at once with the same ETag, then exactly one wins and the other gets 412', async () => {
    const [token, session] = clients as [Client, Client];
    for (const [kind, send] of [
      ['PATCH', (c: Client, id: string, etag: string) => call(c, 'PATCH', `/api/todos/${id}`, { 'if-match': etag }, { content: c.who })],
      ['PUT finish', (c: Client, id: string, etag: string) => call(c, 'PUT', `/api/todos/${id}/finish`, { 'if-match': etag })],
      ['DELETE', (c: Client, id: string, etag: string) => call(c, 'DELETE', `/api/todos/${id}`, { 'if-match': etag })],
    ] as const) {
      const todo = await create(token, `raced ${kind}`);
      const { etag } = await read(token, todo);
      const answers = await raceAtGate('todos', [() => send(token, todo.id, etag), () => send(session, todo.id, etag)]);
      const statuses = answers.map((res) => res.status).sort();
      const won = answers.find((res) => res.status < 300)!;
      assert.deepEqual(statuses, kind === 'DELETE' ? [204, 404] : [200, 412], `${kind}: ${statuses.join(' ')}`);
      if (kind !== 'DELETE') {
        const lost = answers.find((res) => res.status === 412)!;
        await assertChanged(lost, won.headers.get('etag')!, kind);
        assert.equal((await read(token, todo)).etag, won.headers.get('etag'));
      }
    }
  });
});
