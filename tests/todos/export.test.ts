import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem, signUp, tokenUser, type TestApp, type TokenUser } from '../helpers/app';
import { errorFields } from '../helpers/accounts';
import { parseCsv, parseNdjson } from '../helpers/export';
import { allTodoIds, assertTodo, createTodo, seedTodos, startTodosApp, type TodoJson } from '../helpers/todos';

const today = () => new Date().toISOString().slice(0, 10);

describe('todos: export of a whole list as NDJSON or CSV', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  const exportOf = (u: TokenUser, query = '') => t.http().get(`/api/todos/export${query}`).set('Authorization', u.auth).buffer(true);

  /** A few todos through the API, one finished, plus what GET /api/todos/:id says of each. */
  async function someTodos(u: TokenUser): Promise<TodoJson[]> {
    const made = [];
    for (const content of ['first', 'second', 'third']) made.push(await createTodo(t, u, content));
    await t.http().patch(`/api/todos/${made[1]!.id}`).set('Authorization', u.auth).send({ is_finished: true }).expect(200);
    const read = [];
    for (const todo of made)
      read.push((await t.http().get(`/api/todos/${todo.id}`).set('Authorization', u.auth).expect(200)).body as TodoJson);
    return read;
  }

  it('when a user exports without a format, then it is NDJSON with one line per todo, each exactly the todo the API returns, newest first', async () => {
    const u = await tokenUser(t, 'export');
    const todos = await someTodos(u);
    const res = await exportOf(u).expect(200);
    assert.equal(res.headers['content-type'], 'application/x-ndjson; charset=utf-8');
    assert.equal(res.headers['content-disposition'], `attachment; filename="todos-${today()}.ndjson"`);
    assert.equal(res.headers['cache-control'], 'no-store');
    const lines = parseNdjson(res.text);
    lines.forEach(assertTodo);
    assert.deepEqual(lines, [...todos].reverse());
    assert.equal(lines[1]!.is_finished, true);
    assert.deepEqual(Object.keys(lines[0]!), ['id', 'content', 'is_finished', 'created_at', 'updated_at', 'finished_at']);
  });

  it('when a user exports as CSV, then it has the header row and every field of every todo, newest first, in RFC 4180 with CRLF', async () => {
    const u = await tokenUser(t, 'export');
    const todos = await someTodos(u);
    const res = await exportOf(u, '?format=csv').expect(200);
    assert.equal(res.headers['content-type'], 'text/csv; charset=utf-8');
    assert.equal(res.headers['content-disposition'], `attachment; filename="todos-${today()}.csv"`);
    assert.ok(res.text.startsWith('id,content,is_finished,created_at,updated_at,finished_at\r\n'), res.text.slice(0, 80));
    assert.ok(res.text.endsWith('\r\n'));
    assert.equal(res.text.split('\r\n').length, 1 + todos.length + 1);
    const finished = todos[1]!;
    assert.ok(
      res.text.includes(`\r\n${finished.id},second,true,${finished.created_at},${finished.updated_at},${finished.finished_at}\r\n`),
      'a finished todo is written with its three times',
    );
    assert.ok(res.text.includes(`\r\n${todos[0]!.id},first,false,${todos[0]!.created_at},${todos[0]!.updated_at},\r\n`));
    assert.deepEqual(parseCsv(res.text), [...todos].reverse());
  });

  it('when contents hold commas, quotes, line breaks or begin like a formula, then CSV quotes them and prefixes one apostrophe, and reads back exactly', async () => {
    const u = await tokenUser(t, 'csv');
    const tricky = [
      'comma, here',
      'say "hi"',
      'line one\nline two',
      'crlf\r\ninside',
      '=SUM(A1:A9)',
      '+1 555',
      '-2',
      '@cmd',
      "'quoted",
      "''twice",
      'a=b',
    ];
    for (const content of tricky) await createTodo(t, u, content);
    // The API trims leading whitespace; an import may not, so these come from SQL.
    await t.deps.db.query(`INSERT INTO todos (user_id, content) VALUES ($1, E'\\tTAB'), ($1, E'\\rCR=1')`, [u.id]);
    const csv = (await exportOf(u, '?format=csv').expect(200)).text;
    for (const raw of [
      '"comma, here"',
      '"say ""hi"""',
      '"line one\nline two"',
      '"crlf\r\ninside"',
      ",'=SUM(A1:A9),",
      ",'+1 555,",
      ",'-2,",
      ",'@cmd,",
      ",''quoted,",
      ",'''twice,",
      ',a=b,',
      ",'\tTAB,",
      `,"'\rCR=1",`,
    ]) {
      assert.ok(csv.includes(raw), `expected ${JSON.stringify(raw)} in the CSV`);
    }
    assert.doesNotMatch(csv, /,[=+\-@\t]|,\r(?!\n)/, 'no cell begins like a formula');
    const ndjson = parseNdjson((await exportOf(u).expect(200)).text);
    assert.deepEqual(parseCsv(csv), ndjson);
    assert.deepEqual(ndjson.map((x) => x.content).sort(), [...tricky, '\tTAB', '\rCR=1'].sort());
  });

  it('when todos share creation times and fill whole chunks or not, then both formats keep the list order (created_at, then id, descending)', async () => {
    for (const count of [1_000, 1_234]) {
      const u = await tokenUser(t, 'order');
      await seedTodos(t, u.id, count, { msExpr: 'i / 5' });
      const expected = await allTodoIds(t, u.id);
      assert.equal(expected.length, count);
      assert.deepEqual(
        parseNdjson((await exportOf(u).expect(200)).text).map((x) => x.id),
        expected,
      );
      assert.deepEqual(
        parseCsv((await exportOf(u, '?format=csv').expect(200)).text).map((x) => x.id),
        expected,
      );
    }
  });

  it('when the list is empty, then NDJSON is an empty body and CSV is the header row alone', async () => {
    const u = await tokenUser(t, 'empty');
    assert.equal((await exportOf(u).expect(200)).text, '');
    assert.equal((await exportOf(u, '?format=csv').expect(200)).text, 'id,content,is_finished,created_at,updated_at,finished_at\r\n');
  });

  it("when nobody is signed in, then it is 401; a session cookie works; another user's todos are never included", async () => {
    assertProblem(await t.http().get('/api/todos/export'), 401);
    assertProblem(await t.http().get('/api/todos/export').set('Authorization', 'Bearer tdo_not-a-real-token'), 401);
    const [a, b] = await Promise.all([tokenUser(t, 'a'), tokenUser(t, 'b')]);
    await seedTodos(t, a.id, 50);
    const mine = await createTodo(t, b, 'only B');
    const session = await signUp(t, 'cookie');
    for (const query of ['', '?format=csv']) {
      const text = (await exportOf(b, query).expect(200)).text;
      const rows = query ? parseCsv(text) : parseNdjson(text);
      assert.deepEqual(rows, [mine]);
      assert.doesNotMatch(text, /seeded/);
      const viaCookie = await t.http().get(`/api/todos/export${query}`).set('Cookie', session.cookie).buffer(true).expect(200);
      assert.equal((query ? parseCsv(viaCookie.text) : parseNdjson(viaCookie.text)).length, 0);
    }
  });

  it('when the format is unknown, repeated or empty, then it is a 422 problem on format that says what is expected', async () => {
    const u = await tokenUser(t, 'format');
    for (const query of ['?format=xml', '?format=CSV', '?format=', '?format=csv&format=ndjson']) {
      const body = assertProblem(await exportOf(u, query), 422);
      assert.deepEqual(errorFields(body), ['format']);
      assert.match(JSON.stringify(body.errors), /ndjson \(the default\) or csv/);
    }
  });

  it('when a client asks HEAD, then it gets the headers of the download and no list is read', async () => {
    const u = await tokenUser(t, 'head');
    await seedTodos(t, u.id, 10);
    const runs = async () =>
      (await t.deps.metrics.registry.getSingleMetric('todo_exports_total')!.get()).values.reduce((n, v) => n + v.value, 0);
    const before = await runs();
    const res = await t.http().head('/api/todos/export?format=csv').set('Authorization', u.auth).expect(200);
    assert.equal(res.headers['content-type'], 'text/csv; charset=utf-8');
    assert.equal(res.headers['content-disposition'], `attachment; filename="todos-${today()}.csv"`);
    assert.equal(await runs(), before, 'no export ran');
  });

  it('when an export ends, then it is counted by format and outcome and kept out of the request latency histogram', async () => {
    const u = await tokenUser(t, 'metrics');
    const timedExports = async () => {
      const latency = await t.deps.metrics.registry.getSingleMetric('http_request_duration_seconds')!.get();
      return latency.values
        .filter(
          (v) =>
            (v as { metricName?: string }).metricName === 'http_request_duration_seconds_count' &&
            v.labels.route === '/api/todos/export' &&
            v.labels.method === 'GET',
        )
        .reduce((n, v) => n + v.value, 0);
    };
    const timedBefore = await timedExports();
    await exportOf(u, '?format=csv').expect(200);
    const exports = await t.deps.metrics.registry.getSingleMetric('todo_exports_total')!.get();
    assert.ok(exports.values.some((v) => v.labels.format === 'csv' && v.labels.outcome === 'done' && v.value >= 1));
    const latency = await t.deps.metrics.registry.getSingleMetric('http_request_duration_seconds')!.get();
    assert.ok(latency.values.length > 0, 'other requests are timed');
    assert.equal(await timedExports(), timedBefore, 'no export in the latency histogram');
    const answered = await t.deps.metrics.registry.getSingleMetric('http_requests_total')!.get();
    assert.ok(
      answered.values.some(
        (v) => v.labels.route === '/api/todos/export' && v.labels.method === 'GET' && v.labels.status === '200' && v.value >= 1,
      ),
      'but it is counted among the responses',
    );
  });
});
