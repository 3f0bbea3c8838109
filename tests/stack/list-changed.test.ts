import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../app/config';
import { closeDeps, openDeps, type Deps } from '../../app/deps';
import { listChanged } from '../../app/todos/list-changed';
import { insertTodo } from '../../app/todos/queries';
import { readStackEnv } from '../../scripts/stack-env';
import { stack, stackSession, asSession as call } from '../helpers/stack';

// Writers outside a request (the job worker, batches) change lists through
// the same function as the routes; what they change must show at once
// through nginx, to a token holder and on the public page.

describe('listChanged from outside a request', () => {
  let deps: Deps;
  before(async () => {
    // The stack's own settings: its PostgreSQL, Redis and nginx purge address.
    deps = await openDeps(loadConfig({ ...process.env, ...readStackEnv(process.env.TODO_STACK_ENV!), LOG_LEVEL: 'silent' }));
  });
  after(() => closeDeps(deps));

  it('when a todo is written straight to the database and listChanged is called, then a token holder and the public page see it at once through nginx', async () => {
    const owner = await stackSession();
    const slug = `changed-${owner.id.slice(0, 8)}`;
    assert.equal((await call(owner, 'PATCH', '/api/me', { public_slug: slug })).status, 200);
    const minted = await call(owner, 'POST', '/api/tokens', { name: 'reader' });
    const { token } = (await minted.json()) as { token: string };
    const readToken = () => fetch(`${stack.http}/api/todos`, { headers: { authorization: `Bearer ${token}` } });

    // nginx holds a copy of each: the token's first page and both public pages.
    let copy = '';
    for (let i = 0; i < 5 && copy !== 'HIT'; i++) copy = (await readToken()).headers.get('x-cache-status') ?? '';
    assert.equal(copy, 'HIT', "nginx keeps a copy of the token's first page");
    for (const path of [`/u/${slug}`, `/api/public/${slug}/todos`]) {
      await fetch(`${stack.http}${path}`);
      assert.equal((await fetch(`${stack.http}${path}`)).headers.get('x-cache-status'), 'HIT', `nginx keeps ${path}`);
    }

    const content = `written by a job ${Date.now()}`;
    await insertTodo(deps.db, owner.id, content, { max: deps.config.perUser.todos, alone: false });
    await listChanged(deps, owner.id);

    const mine = await readToken();
    assert.equal(mine.status, 200);
    assert.ok((await mine.text()).includes(content), 'the token holder sees the write');
    for (const path of [`/u/${slug}`, `/api/public/${slug}/todos`]) {
      const res = await fetch(`${stack.http}${path}`);
      assert.ok((await res.text()).includes(content), `${path} shows the write (${res.headers.get('x-cache-status')})`);
    }
  });
});
