import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import { explainList, nodesOf, type PlanNode } from '../helpers/plans';
import { getPage, seedTodos, startTodosApp } from '../helpers/todos';

const ROWS = 12_000;
const PAGE = 20;

describe('todos: the list query plan (EXPLAIN) for a user with 12,000 todos', () => {
  let t: TestApp;
  let u: TokenUser;
  before(async () => {
    t = await startTodosApp();
    u = await tokenUser(t, 'explain');
    await seedTodos(t, u.id, ROWS, { finishedExpr: 'i % 4 = 0' });
    // Fresh statistics, as autovacuum would have them in production.
    await t.deps.db.query('ANALYZE todos');
  });
  after(async () => {
    await t.deps.db.query('DELETE FROM users WHERE id = $1', [u.id]);
    await t.close();
  });

  const explain = (query: Record<string, string>) => explainList(t, u.id, query);

  function assertIndexWalk(plan: PlanNode, what: string): PlanNode {
    const nodes = nodesOf(plan);
    assert.equal(plan['Node Type'], 'Limit', `${what}: the plan is a Limit over the scan`);
    const sorts = nodes.filter((n) => /Sort/.test(n['Node Type']));
    assert.deepEqual(
      sorts.map((n) => n['Node Type']),
      [],
      `${what}: no Sort node anywhere`,
    );
    const scans = nodes.filter((n) => n['Index Name'] === 'todos_user_created_idx');
    assert.equal(scans.length, 1, `${what}: one scan of todos_user_created_idx, got ${nodes.map((n) => n['Node Type']).join(' > ')}`);
    const scan = scans[0]!;
    assert.equal(scan['Node Type'], 'Index Scan', `${what}: an Index Scan`);
    assert.equal(scan['Scan Direction'], 'Forward', `${what}: the index order is the list order`);
    assert.match(scan['Index Cond'] ?? '', /user_id = /, `${what}: the user is an index condition`);
    assert.ok(
      nodes.every((n) => !/Seq Scan|Bitmap/.test(n['Node Type'])),
      `${what}: no sequential or bitmap scan`,
    );
    return scan;
  }

  it('when the first page and a page 9,500 rows deep are planned, then both are an index scan with no sort, reading only one page of rows', async (ctx) => {
    const firstPage = await getPage(t, u, { limit: String(PAGE) });
    assert.equal(firstPage.data.length, PAGE);
    // The API's own cursor, naming the 9,500th newest todo.
    const { next_cursor: deepCursor } = await getPage(t, u, { start: '9499', limit: '1' });
    assert.ok(deepCursor, 'an offset page carries a cursor');
    const deepPage = await getPage(t, u, { limit: String(PAGE), cursor: deepCursor });
    assert.equal(deepPage.data[0]!.content, `seeded ${ROWS - 9500}`, 'the cursor really is 9,500 rows deep');

    const first = await explain({ limit: String(PAGE) });
    const deep = await explain({ limit: String(PAGE), cursor: deepCursor });

    const firstScan = assertIndexWalk(first, 'first page');
    const deepScan = assertIndexWalk(deep, 'deep page');
    assert.match(
      deepScan['Index Cond'] ?? '',
      /ROW\(created_at, id\) < ROW\(/,
      `deep page: the cursor is an Index Cond, got ${deepScan['Index Cond']}`,
    );
    assert.doesNotMatch(deepScan.Filter ?? '', /created_at/, 'deep page: the cursor must not be a Filter');
    assert.equal(deepScan['Rows Removed by Filter'] ?? 0, 0);
    // One row more than the page tells whether there is a next page; nothing else is read.
    assert.equal(firstScan['Actual Rows'], PAGE + 1);
    assert.equal(deepScan['Actual Rows'], PAGE + 1);

    ctx.diagnostic(`first page: Limit total cost ${first['Total Cost']}, index scan total cost ${firstScan['Total Cost']}`);
    ctx.diagnostic(`deep page (9,500 rows in): Limit total cost ${deep['Total Cost']}, index scan total cost ${deepScan['Total Cost']}`);
    ctx.diagnostic(`deep page Index Cond: ${deepScan['Index Cond']}`);
    // The planner, too, expects both to stop after one page instead of reading the user's whole range.
    assert.ok(first['Total Cost'] * 10 < firstScan['Total Cost'], `first page: ${first['Total Cost']} vs scan ${firstScan['Total Cost']}`);
    assert.ok(deep['Total Cost'] * 10 < deepScan['Total Cost'], `deep page: ${deep['Total Cost']} vs scan ${deepScan['Total Cost']}`);
  });

  it("when the tutorial's offset paging asks for start=9500, then it costs far more than the keyset page at the same depth", async (ctx) => {
    const { next_cursor: cursor } = await getPage(t, u, { start: '9499', limit: '1' });
    assert.ok(cursor);
    const keyset = await explain({ limit: String(PAGE), cursor });
    const offset = await explain({ limit: String(PAGE), start: '9500' });
    ctx.diagnostic(
      `start=9500: Limit total cost ${offset['Total Cost']} (${nodesOf(offset)
        .map((n) => n['Node Type'])
        .join(' > ')}); keyset at the same depth: ${keyset['Total Cost']}`,
    );
    // Offset paging reads and discards the skipped rows; keyset paging does not.
    assert.ok(keyset['Total Cost'] * 10 < offset['Total Cost'], `keyset ${keyset['Total Cost']} vs offset ${offset['Total Cost']}`);
  });
});
