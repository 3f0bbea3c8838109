import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, tokenUser, type TestApp } from '../helpers/app';
import { EXPORT_BEGIN, EXPORT_SQL } from '../../app/todos/queries';
import { exportBackends, openStream, parseNdjson, removeUsers, seedMany, untilNoExportBackends } from '../helpers/export';
import { nodesOf, shapeOf, type PlanNode } from '../helpers/plans';
import { allTodoIds, createTodo, sleep, startTodosApp } from '../helpers/todos';

// Enough bytes (about 20 MB) that a client which stops reading leaves most
// of the list unread on the server, past every socket buffer on the way.
const ROWS = 60_000;
const PADDING = 300;

describe('todos: an export streams from one snapshot and lets go of its connection', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  const seededIds: string[] = [];
  // Their hundreds of thousands of rows go at the end, not to shift later tests' plans.
  const seeded = <U extends { id: string }>(u: U): U => {
    seededIds.push(u.id);
    return u;
  };
  after(async () => {
    await removeUsers(t.deps.db, seededIds);
    await t.close();
  });

  const open = (auth: string) => openStream(`${t.url}/api/todos/export`, { authorization: auth });

  it('when todos are created, deleted and changed while an export is half read, then it lists exactly the todos of its start, once each, and ends whole', async () => {
    const u = await tokenUser(t, 'snapshot');
    await seedMany(t.deps.db, seeded(u).id, ROWS, PADDING);
    const before = await allTodoIds(t, u.id);
    const stream = await open(u.auth);
    assert.equal(stream.status, 200);
    await sleep(200);
    assert.equal(await exportBackends(t.deps.db), 1, 'the export is reading');

    // Newest (at the head, already sent) and oldest (in the unread tail).
    const created = await createTodo(t, u, 'created during the export');
    await t.deps.db.query(`INSERT INTO todos (user_id, content, created_at) VALUES ($1, 'older than all', now() - interval '2 days')`, [
      u.id,
    ]);
    const tail = before.slice(-3);
    for (const id of tail.slice(0, 2)) await t.http().delete(`/api/todos/${id}`).set('Authorization', u.auth).expect(204);
    await t.http().patch(`/api/todos/${tail[2]}`).set('Authorization', u.auth).send({ content: 'changed during the export' }).expect(200);
    assert.equal(await exportBackends(t.deps.db), 1, 'the writes committed while the export was still reading');

    const todos = parseNdjson(stream.first + (await stream.rest()));
    assert.deepEqual(
      todos.map((x) => x.id),
      before,
    );
    assert.ok(!todos.some((x) => x.id === created.id || x.content === 'older than all'));
    assert.match(todos.at(-1)!.content, /^seeded 1\.+$/, 'a todo changed during the export is as it was at its start');
    assert.equal((await allTodoIds(t, u.id)).length, ROWS + 2 - 2);
  });

  it('when the client hangs up mid-export, then its cursor and connection are gone at once, the slot is free and the next export works', async () => {
    const u = await tokenUser(t, 'hang-up');
    await seedMany(t.deps.db, seeded(u).id, ROWS, PADDING);
    const stream = await open(u.auth);
    assert.equal(stream.status, 200);
    await sleep(100);
    assert.equal(await exportBackends(t.deps.db), 1);
    stream.hangUp();
    const ms = await untilNoExportBackends(t.deps.db, 1_000);
    console.log(`# connection gone from pg_stat_activity ${ms.toFixed(0)} ms after the hang-up`);
    for (let i = 0; i < 3; i++) {
      const again = await open(u.auth);
      assert.equal(again.status, 200, 'a hung-up export left no slot taken');
      again.hangUp();
    }
    await untilNoExportBackends(t.deps.db, 1_000);
    const whole = await open(u.auth);
    assert.equal(parseNdjson(whole.first + (await whole.rest())).length, ROWS);
    const aborted = await t.deps.metrics.registry.getSingleMetric('todo_exports_total')!.get();
    assert.ok(aborted.values.some((v) => v.labels.outcome === 'aborted' && v.value >= 4));
  });

  it('when a user holds a small share of the table, then the export still walks the index in list order with no sort, so the first rows come at once', async () => {
    const [u, crowd] = await Promise.all([tokenUser(t, 'plan'), tokenUser(t, 'crowd')]);
    await seedMany(t.deps.db, seeded(crowd).id, 50_000);
    await seedMany(t.deps.db, seeded(u).id, 5_000);
    await t.deps.db.query('ANALYZE todos');
    // As the export plans it: in its transaction, with its settings.
    const client = await t.deps.db.connect();
    let plan: PlanNode;
    try {
      await client.query(EXPORT_BEGIN);
      const { rows } = await client.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode }> }>(`EXPLAIN (FORMAT JSON) ${EXPORT_SQL}`, [u.id]);
      plan = rows[0]!['QUERY PLAN'][0]!.Plan;
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
    assert.ok(!nodesOf(plan).some((n) => /Sort/.test(n['Node Type'])), `no sort: ${shapeOf(plan)}`);
    assert.equal(plan['Node Type'], 'Index Scan', shapeOf(plan));
    assert.equal(plan['Index Name'], 'todos_user_created_idx');
    assert.equal(plan['Scan Direction'], 'Forward');
  });

  it("when a client reads slowly for longer than the pool's statement timeout, then the export still ends whole", async () => {
    const slow = await startApp({ PASSWORD_SCRYPT_LOG_N: '10', PG_STATEMENT_TIMEOUT_MS: '200' });
    try {
      const u = await tokenUser(slow, 'slow');
      await seedMany(t.deps.db, seeded(u).id, ROWS, PADDING);
      const stream = await openStream(`${slow.url}/api/todos/export`, { authorization: u.auth });
      // Stalled ten times the statement timeout and the pool's idle-in-transaction timeout.
      await sleep(2_000);
      assert.equal(await exportBackends(t.deps.db), 1, 'the export was still reading while the client stalled');
      const todos = parseNdjson(stream.first + (await stream.rest()));
      assert.equal(todos.length, ROWS);
    } finally {
      await slow.close();
    }
  });
});
