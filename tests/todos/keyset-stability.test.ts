import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tokenUser, type TestApp } from '../helpers/app';
import { allTodoIds, assertNewestFirst, createTodo, getPage, seedTodos, startTodosApp, type TodoJson } from '../helpers/todos';

describe('todos: keyset paging under concurrent inserts and deletes', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  it('when a 300-todo list is walked by next_cursor while todos are added and deleted, then none repeats and no survivor is skipped', async (ctx) => {
    const u = await tokenUser(t);
    // The first 150 have distinct times; the rest share a millisecond in
    // groups of four, some also with todo 150, so the id must break ties.
    await seedTodos(t, u.id, 300, { msExpr: 'CASE WHEN i <= 150 THEN i ELSE 150 + (i - 150) / 4 END' });
    const initial = await allTodoIds(t, u.id);
    assert.equal(initial.length, 300);
    const { rows: ties } = await t.deps.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM (SELECT created_at FROM todos WHERE user_id = $1 GROUP BY 1 HAVING count(*) > 1) g',
      [u.id],
    );
    assert.ok(ties[0]!.n >= 30, 'the seed must contain equal created_at values');

    const seen: TodoJson[] = [];
    const seenIds = new Set<string>();
    const deletedAt = new Map<string, number>(); // id → number of pages read when it was deleted
    const insertedDuringWalk = new Set<string>();
    const apiInserted = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;

    const del = async (id: string) => {
      await t.http().delete(`/api/todos/${id}`).set('Authorization', u.auth).expect(204);
      deletedAt.set(id, pages);
    };

    do {
      const page = await getPage(t, u, { limit: '20', ...(cursor && { cursor }) });
      pages++;
      for (const todo of page.data) {
        assert.ok(!seenIds.has(todo.id), `todo ${todo.id} appeared twice (page ${pages})`);
        assert.ok(!deletedAt.has(todo.id), `todo ${todo.id} was deleted before page ${pages} but was listed`);
        seenIds.add(todo.id);
        seen.push(todo);
      }
      cursor = page.next_cursor;
      if (cursor === null) break;
      assert.equal(page.data.length, 20, 'only the last page may be short');
      const last = page.data.at(-1)!;

      // New todos through the API: they are newer than everything.
      for (let k = 0; k < 2; k++) {
        const id = (await createTodo(t, u, `during walk ${pages}.${k}`)).id;
        insertedDuringWalk.add(id);
        apiInserted.add(id);
      }
      // New todos exactly at the cursor's time, on both sides of its id, and
      // some further down the part not yet read.
      const { rows: added } = await t.deps.db.query<{ id: string }>(
        `INSERT INTO todos (user_id, content, created_at, updated_at)
         SELECT $1, 'squeezed in', at, at FROM unnest(ARRAY[$2::timestamptz, $2, $2, $2 - interval '3 ms']) AS at
         RETURNING id`,
        [u.id, last.created_at],
      );
      for (const r of added) insertedDuringWalk.add(r.id);

      // Deletes: the cursor's own row on odd pages, another seen one on even
      // pages, and two not yet seen: the very next one and one further on.
      const seenSurvivors = seen.filter((x) => !deletedAt.has(x.id) && initial.includes(x.id));
      await del(pages % 2 === 1 ? last.id : seenSurvivors[Math.floor(seenSurvivors.length / 2)]!.id);
      const unseen = initial.filter((id) => !seenIds.has(id) && !deletedAt.has(id));
      if (unseen.length > 0) await del(unseen[0]!);
      if (unseen.length > 2) await del(unseen[Math.floor(unseen.length / 2)]!);
    } while (pages < 100);

    assert.ok(pages >= 12 && pages < 100, `walked ${pages} pages`);
    assertNewestFirst(seen); // the walk as a whole, not only each page, is in order
    const survivors = initial.filter((id) => !deletedAt.has(id));
    const skipped = survivors.filter((id) => !seenIds.has(id));
    assert.deepEqual(skipped, [], 'every todo that existed for the whole walk was seen');
    const unseenDeleted = [...deletedAt.keys()].filter((id) => !seenIds.has(id));
    assert.ok(unseenDeleted.length >= 20, 'the walk must have deleted todos it had not read yet');
    for (const id of seenIds) {
      assert.ok(initial.includes(id) || insertedDuringWalk.has(id), `unknown todo ${id} in the walk`);
    }
    // Todos posted after page 1 are newer than the cursor: a later page must not show them.
    assert.deepEqual(
      [...apiInserted].filter((id) => seenIds.has(id)),
      [],
    );
    const squeezedSeen = [...insertedDuringWalk].filter((id) => seenIds.has(id)).length;
    ctx.diagnostic(
      `pages=${pages} seen=${seen.length} deleted=${deletedAt.size} (${unseenDeleted.length} before being read) inserted=${insertedDuringWalk.size} inserted-and-seen=${squeezedSeen}`,
    );
  });
});
