import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import { exportCsv, exportNdjson, importUpload, listed } from '../helpers/import';
import { countTodos, createTodo, getPage, seedTodos, startTodosApp } from '../helpers/todos';

// Content a CSV must quote or neutralise, and characters beyond ASCII.
const AWKWARD = ['=SUM(A1:A3)', '+49 30 1234', '-minus first', '@home', 'a, b and "c"', 'two\nlines', 'crlf\r\ninside', 'ünïcödé 🎉'];

describe('todos: import batches (set-based, idempotent)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  /**
   * A list worth reproducing: runs of four todos that share a created_at
   * (ids decide their order), finished ones, todos made, edited and
   * finished through the API, and content that CSV must take care with.
   */
  async function richList(tag: string): Promise<TokenUser> {
    const a = await tokenUser(t, tag);
    await seedTodos(t, a.id, 40, { msExpr: '(i / 4) * 1000', finishedExpr: 'i % 3 = 0' });
    for (const content of AWKWARD) await createTodo(t, a, content);
    const edited = await createTodo(t, a, 'to be edited');
    await t.http().patch(`/api/todos/${edited.id}`).set('Authorization', a.auth).send({ content: 'edited', is_finished: true }).expect(200);
    return a;
  }

  for (const format of ['ndjson', 'csv'] as const) {
    it(`when account A's ${format} export is imported into account B, then B lists what A lists: content, state, times and order, ties included`, async () => {
      const a = await richList(`import-a-${format}`);
      const b = await tokenUser(t, `import-b-${format}`);
      await createTodo(t, b, "B's own todo");
      const upload = format === 'csv' ? await exportCsv(t.deps.db, a.id) : await exportNdjson(t.deps.db, a.id);
      const total = await countTodos(t, a.id);

      // Batches of 5 would cut the runs of four in two, were they not kept whole.
      const first = await importUpload(t.deps.db, b.id, upload, format, { batchSize: 5 });
      assert.deepEqual(first.invalid, []);
      assert.deepEqual([first.created, first.skipped], [total, 0]);
      const expected = await listed(t.deps.db, a.id);
      const own = (await listed(t.deps.db, b.id)).filter((todo) => todo.content !== "B's own todo");
      assert.deepEqual(own, expected);
      const { rows } = await t.deps.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM todos WHERE user_id = $1 AND id IN (SELECT id FROM todos WHERE user_id = $2)',
        [b.id, a.id],
      );
      assert.equal(rows[0]!.n, 0, 'B has todos of its own, not A’s ids');

      // Through the API, too: every field in shape, newest first.
      const page = await getPage(t, b, { limit: '100' });
      assert.equal(page.data.length, total + 1);

      const again = await importUpload(t.deps.db, b.id, upload, format, { batchSize: 7 });
      assert.deepEqual([again.created, again.skipped], [0, total], 'the same file again creates nothing');
      assert.equal(await countTodos(t, b.id), total + 1);
    });
  }

  it("when an account's own export is imported into it, then nothing is created, even for todos edited since; one deleted since comes back, once", async () => {
    const a = await richList('import-own');
    const upload = await exportNdjson(t.deps.db, a.id);
    const total = await countTodos(t, a.id);
    const page = await getPage(t, a, { limit: '2' });
    await t
      .http()
      .patch(`/api/todos/${page.data[0]!.id}`)
      .set('Authorization', a.auth)
      .send({ content: 'changed after the export' })
      .expect(200);
    await t.http().delete(`/api/todos/${page.data[1]!.id}`).set('Authorization', a.auth).expect(204);
    const before = await listed(t.deps.db, a.id);

    const result = await importUpload(t.deps.db, a.id, upload, 'ndjson');
    assert.deepEqual([result.created, result.skipped], [1, total - 1]);
    const now = await listed(t.deps.db, a.id);
    assert.equal(now.length, total);
    assert.deepEqual(
      now.filter((todo) => !before.some((b) => JSON.stringify(b) === JSON.stringify(todo))),
      [
        {
          content: page.data[1]!.content,
          is_finished: page.data[1]!.is_finished,
          created_at: page.data[1]!.created_at,
          finished_at: page.data[1]!.finished_at,
        },
      ],
    );
    assert.ok(now.some((todo) => todo.content === 'changed after the export'));
    assert.ok(!now.some((todo) => todo.content === page.data[0]!.content));

    const csvAgain = await importUpload(t.deps.db, a.id, await exportCsv(t.deps.db, a.id), 'csv');
    assert.deepEqual([csvAgain.created, csvAgain.skipped], [0, total]);
  });

  it('when an export without its id column is imported into its own account, then its todos are known by content and created_at, and nothing is created', async () => {
    const a = await richList('import-no-ids');
    const rows = parse(await exportCsv(t.deps.db, a.id));
    const withoutIds = Buffer.from(stringify(rows.map((cells) => cells.slice(1))));
    assert.match(withoutIds.toString(), /^content,is_finished,created_at,updated_at,finished_at\n/);
    const result = await importUpload(t.deps.db, a.id, withoutIds, 'csv');
    assert.deepEqual(result.invalid, []);
    assert.deepEqual([result.created, result.skipped], [0, await countTodos(t, a.id)]);
  });

  it('when the same file (ids, dated and undated lines, bad lines, Todoist) is imported twice, then the second time creates nothing and reports the same bad lines', async () => {
    const u = await tokenUser(t, 'import-twice');
    const ndjson = Buffer.from(
      [
        JSON.stringify({ id: randomUUID(), content: 'from another account', is_finished: true, created_at: '2024-05-01T08:00:00.000Z' }),
        JSON.stringify({ content: 'dated', created_at: '2024-05-02T08:00:00.000Z' }),
        JSON.stringify({ content: 'undated' }),
        JSON.stringify({ content: 'undated' }),
        '{"content": ""}',
        'not json',
      ].join('\n'),
    );
    const todoist = Buffer.from('TYPE,CONTENT,PRIORITY\nsection,Home,\ntask,Fix the tap,1\ntask,Fix the tap,4\nnote,Washer size 12,\n');
    for (const [upload, format, valid] of [
      [ndjson, 'ndjson', 4],
      [todoist, 'csv', 2],
    ] as const) {
      const first = await importUpload(t.deps.db, u.id, upload, format);
      assert.deepEqual([first.created, first.skipped], [valid, 0], format);
      const second = await importUpload(t.deps.db, u.id, upload, format);
      assert.deepEqual([second.created, second.skipped], [0, valid], format);
      assert.deepEqual(second.invalid, first.invalid);
    }
    assert.equal(await countTodos(t, u.id), 6);
    const [finished] = (await listed(t.deps.db, u.id)).filter((todo) => todo.content === 'from another account');
    assert.deepEqual(finished, {
      content: 'from another account',
      is_finished: true,
      created_at: '2024-05-01T08:00:00.000Z',
      finished_at: '2024-05-01T08:00:00.000Z',
    });
  });

  it('when a file repeats a line (with an id, or dated), then the line is created once', async () => {
    const u = await tokenUser(t, 'import-repeats');
    const withId = JSON.stringify({ id: randomUUID(), content: 'named', created_at: '2024-05-01T08:00:00.000Z' });
    const dated = JSON.stringify({ content: 'dated', created_at: '2024-05-02T08:00:00.000Z' });
    const result = await importUpload(t.deps.db, u.id, Buffer.from([withId, dated, withId, dated].join('\n')), 'ndjson');
    assert.deepEqual([result.created, result.skipped], [2, 2]);
    assert.equal(await countTodos(t, u.id), 2);
  });

  it('when an undated line comes in two different files, then each file creates its todo; a dated one is created once', async () => {
    const u = await tokenUser(t, 'import-two-files');
    const dated = JSON.stringify({ content: 'dated', created_at: '2024-05-02T08:00:00.000Z' });
    await importUpload(t.deps.db, u.id, Buffer.from(`{"content":"water the plants"}\n${dated}\n`), 'ndjson');
    const other = await importUpload(
      t.deps.db,
      u.id,
      Buffer.from(`${dated}\n{"content":"water the plants"}\n{"content":"more"}\n`),
      'ndjson',
    );
    assert.deepEqual([other.created, other.skipped], [2, 1]);
    const contents = (await listed(t.deps.db, u.id)).map((todo) => todo.content).sort();
    assert.deepEqual(contents, ['dated', 'more', 'water the plants', 'water the plants']);
  });

  it('when undated lines are imported in several batches, then the list shows them in file order, first line on top, before the import time', async () => {
    const u = await tokenUser(t, 'import-undated-order');
    const lines = Array.from({ length: 12 }, (_, i) => `task ${i + 1}`);
    const upload = Buffer.from(['TYPE,CONTENT', ...lines.map((l) => `task,${l}`)].join('\n'));
    const importedAt = new Date();
    await importUpload(t.deps.db, u.id, upload, 'csv', { batchSize: 5, importedAt });
    const list = await listed(t.deps.db, u.id);
    assert.deepEqual(
      list.map((todo) => todo.content),
      lines,
    );
    assert.ok(list.every((todo) => new Date(todo.created_at) < importedAt));
  });

  it('when the same file is imported twice at once, then each line is created once', async () => {
    const u = await tokenUser(t, 'import-race');
    const upload = Buffer.from(Array.from({ length: 300 }, (_, i) => JSON.stringify({ content: `line ${i}` })).join('\n'));
    const results = await Promise.all([1, 2].map(() => importUpload(t.deps.db, u.id, upload, 'ndjson', { batchSize: 50 })));
    assert.equal(results[0]!.created + results[1]!.created, 300);
    assert.equal(await countTodos(t, u.id), 300);
  });
});
