import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import { explainList, nodesOf, shapeOf, type PlanNode } from '../helpers/plans';
import { getPage, startTodosApp } from '../helpers/todos';

const ROWS = 12_000;
const PAGE = 20;
// One todo in twenty is finished (600), as in a list whose owner clears the
// finished ones now and then: the Finished view is the rare filter, the one
// that made a scan of the list order read and drop almost every row.
const FINISHED = ROWS / 20;
// Other users' todos, four for each of the user's, written in between as
// concurrent users' are: the planner weighs an index walk against reading
// the table as it would in production, not a table of one user's rows.
const NEIGHBOURS = 4;

describe('todos: the is_finished filtered list query plan (EXPLAIN) for a user with 12,000 todos, 600 finished', () => {
  let t: TestApp;
  let u: TokenUser;
  let neighbour: string;
  before(async () => {
    t = await startTodosApp();
    u = await tokenUser(t, 'explain-filtered');
    const { rows } = await t.deps.db.query<{ id: string }>(
      `INSERT INTO users (email, password_hash) VALUES ('neighbour-' || gen_random_uuid() || '@example.test', 'x') RETURNING id`,
    );
    neighbour = rows[0]!.id;
    // Row i is the user's n-th todo (oldest first) when i = n × (NEIGHBOURS + 1).
    await t.deps.db.query(
      `INSERT INTO todos (user_id, content, is_finished, created_at, updated_at, finished_at)
       SELECT CASE WHEN mine THEN $1::uuid ELSE $2::uuid END, 'seeded ' || n, f, at, at, CASE WHEN f THEN at END
         FROM generate_series(1, $3::int * ($4::int + 1)) AS i,
              LATERAL (SELECT i % ($4 + 1) = 0 AS mine, i / ($4 + 1) AS n) AS o,
              LATERAL (SELECT now() - interval '1 day' + i * interval '1 millisecond' AS at, n % 20 = 0 AS f) AS x`,
      [u.id, neighbour, ROWS, NEIGHBOURS],
    );
    // Fresh statistics, as autovacuum would have them in production.
    await t.deps.db.query('ANALYZE todos');
  });
  after(async () => {
    await t.deps.db.query('DELETE FROM users WHERE id = ANY($1)', [[u.id, neighbour]]);
    await t.close();
  });

  const explain = (query: Record<string, string>) => explainList(t, u.id, query);

  /**
   * One forward index scan in list order, no sort, and no more rows read
   * than the page needs (`wanted`), give or take the odd row of the other
   * filter. For the rare filter the filter must be part of the index range,
   * or its pages would read the whole list to find a few rows.
   */
  function assertIndexWalk(plan: PlanNode, isFinished: string, wanted: number, what: string): PlanNode {
    const nodes = nodesOf(plan);
    assert.equal(plan['Node Type'], 'Limit', `${what}: the plan is a Limit over the scan, got ${shapeOf(plan)}`);
    assert.ok(
      nodes.every((n) => !/Sort|Seq Scan|Bitmap/.test(n['Node Type'])),
      `${what}: no Sort, sequential or bitmap scan, got ${shapeOf(plan)}`,
    );
    const scans = nodes.filter((n) => n['Node Type'] === 'Index Scan');
    assert.equal(scans.length, 1, `${what}: one Index Scan, got ${shapeOf(plan)}`);
    const scan = scans[0]!;
    assert.equal(scan['Scan Direction'], 'Forward', `${what}: the index order is the list order`);
    assert.match(scan['Index Cond'] ?? '', /user_id = /, `${what}: the user is an index condition`);
    const read = (scan['Actual Rows'] ?? 0) + (scan['Rows Removed by Filter'] ?? 0);
    assert.ok(read <= Math.ceil(wanted * 1.1), `${what}: read ${read} rows for ${wanted}`);
    if (isFinished === 'true') {
      assert.match(scan['Index Cond'] ?? '', /is_finished = /, `${what}: the rare filter is an index condition, got ${scan['Index Cond']}`);
      assert.equal(scan['Rows Removed by Filter'] ?? 0, 0, `${what}: no row is read only to be dropped`);
    }
    return scan;
  }

  it('when a filtered first page is planned (finished and open), then it is one Index Scan with no Sort that reads one page', async (ctx) => {
    for (const isFinished of ['true', 'false']) {
      const page = await getPage(t, u, { limit: String(PAGE), is_finished: isFinished });
      assert.equal(page.data.length, PAGE);
      assert.ok(page.data.every((todo) => String(todo.is_finished) === isFinished));
      const plan = await explain({ limit: String(PAGE), is_finished: isFinished });
      // One row more than the page tells whether there is a next page.
      const scan = assertIndexWalk(plan, isFinished, PAGE + 1, `first page, is_finished=${isFinished}`);
      ctx.diagnostic(
        `first page is_finished=${isFinished}: ${shapeOf(plan)}; Index Cond ${scan['Index Cond']}; cost ${plan['Total Cost']}`,
      );
    }
  });

  it('when a filtered page deep in the list is asked by cursor, then it is one Index Scan with the cursor in the Index Cond that reads one page', async (ctx) => {
    for (const [isFinished, depth] of [
      ['true', FINISHED - 200],
      ['false', 8_000],
    ] as const) {
      const { next_cursor: cursor } = await getPage(t, u, { start: String(depth - 1), limit: '1', is_finished: isFinished });
      assert.ok(cursor, 'an offset page carries a cursor');
      const page = await getPage(t, u, { limit: String(PAGE), cursor, is_finished: isFinished });
      assert.equal(page.data.length, PAGE, 'the cursor is not past the end');
      const plan = await explain({ limit: String(PAGE), cursor, is_finished: isFinished });
      const scan = assertIndexWalk(plan, isFinished, PAGE + 1, `page ${depth} deep, is_finished=${isFinished}`);
      assert.match(scan['Index Cond'] ?? '', /ROW\(created_at, id\) < ROW\(/, 'the cursor is an Index Cond');
      ctx.diagnostic(`cursor ${depth} deep, is_finished=${isFinished}: ${shapeOf(plan)}; Index Cond ${scan['Index Cond']}`);
    }
  });

  it("when a Finished page a third into its rows is asked with the tutorial's offset, then it is one Index Scan that reads only finished rows up to the page", async (ctx) => {
    // Offset paging reads the rows it skips: with the filter in the index,
    // only finished ones. (A deep offset into the common filter costs what
    // the unfiltered list's does, tests/todos/list-plan.test.ts; and much
    // deeper, reading all finished rows and sorting them can really be
    // cheaper than walking the index, and the planner may say so.)
    const depth = FINISHED / 3;
    const page = await getPage(t, u, { limit: String(PAGE), start: String(depth), is_finished: 'true' });
    assert.equal(page.data.length, PAGE);
    const plan = await explain({ limit: String(PAGE), start: String(depth), is_finished: 'true' });
    const scan = assertIndexWalk(plan, 'true', depth + PAGE + 1, `start=${depth}, is_finished=true`);
    ctx.diagnostic(`start=${depth} is_finished=true: ${shapeOf(plan)}; Index Cond ${scan['Index Cond']}; cost ${plan['Total Cost']}`);
  });
});
