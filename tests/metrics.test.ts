import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { queryName } from '../app/db';
import { tokenUser, type TestApp, type TokenUser } from './helpers/app';
import { startTodosApp } from './helpers/todos';

/** Responses counted under a route template, by status. */
async function counted(t: TestApp, method: string, route: string): Promise<Record<string, number>> {
  const metric = await t.deps.metrics.registry.getSingleMetric('http_requests_total')!.get();
  const out: Record<string, number> = {};
  for (const v of metric.values) if (v.labels.method === method && v.labels.route === route) out[String(v.labels.status)] = v.value;
  return out;
}

describe('metrics in one process', () => {
  let t: TestApp;
  let u: TokenUser;
  before(async () => {
    t = await startTodosApp();
    u = await tokenUser(t, 'metrics');
  });
  after(() => t.close());

  it('when a routed request fails (an unknown id, a bad one), then it is counted under the full route template, not the router-relative one', async () => {
    await t.http().get(`/api/todos/${randomUUID()}`).set('Authorization', u.auth).expect(404);
    await t.http().get('/api/todos/not-an-id').set('Authorization', u.auth);
    await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
    const byStatus = await counted(t, 'GET', '/api/todos/:id');
    assert.ok((byStatus['404'] ?? 0) >= 1, JSON.stringify(byStatus));
    assert.deepEqual(await counted(t, 'GET', '/:id'), {});
    assert.ok(((await counted(t, 'GET', '/api/todos/'))['200'] ?? 0) >= 1);
  });

  it('when a path matches no route, then it is counted as unmatched, whatever the path', async () => {
    for (let i = 0; i < 5; i++) await t.http().get(`/nowhere/${randomUUID()}`).expect(404);
    assert.ok(((await counted(t, 'GET', 'unmatched'))['404'] ?? 0) >= 5);
    const metric = await t.deps.metrics.registry.getSingleMetric('http_requests_total')!.get();
    assert.ok(metric.values.every((v) => !String(v.labels.route).includes('nowhere')));
  });

  it('when queries run, then each is timed under its name: a prepared name, a comment, or its verb and table', async () => {
    await t.http().post('/api/todos').set('Authorization', u.auth).send({ content: 'named' }).expect(201);
    const metric = await t.deps.metrics.registry.getSingleMetric('pg_query_duration_seconds')!.get();
    const names = new Set(metric.values.map((v) => String(v.labels.query)));
    assert.ok(names.has('insert-todo'), [...names].join(', '));
    assert.ok(names.has('todos.list'));
    assert.equal(queryName('SELECT /* todos.get */ id FROM todos'), 'todos.get');
    assert.equal(queryName('SELECT id, content FROM todos WHERE user_id = $1'), 'select todos');
    assert.equal(queryName('  insert into jobs (a) values ($1)'), 'insert jobs');
    assert.equal(queryName('DELETE FROM sessions WHERE expires_at < now()'), 'delete sessions');
    assert.equal(queryName('BEGIN'), 'begin');
  });
});
