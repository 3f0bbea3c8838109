import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startApp, uniqueEmail, type TestApp } from './helpers/app';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '..');
const DEFAULT_PASSWORD = 'demo-password'; // the --password default in app/cli/seed.ts

type Todo = { id: string; content: string; is_finished: boolean; created_at: string; finished_at: string | null };

describe('npm run seed', () => {
  let t: TestApp;
  let token: string;
  const email = uniqueEmail('seed');

  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  async function seed(...args: string[]): Promise<{ stdout: string; stderr: string; ms: number }> {
    const started = Date.now();
    const { stdout, stderr } = await run('npx', ['--no-install', 'tsx', 'app/cli/seed.ts', '--email', email, ...args], {
      cwd: ROOT,
      env: process.env, // DATABASE_URL names the test database
      timeout: 60_000,
    });
    return { stdout, stderr, ms: Date.now() - started };
  }

  async function todoCount(): Promise<number> {
    const { rows } = await t.deps.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM todos JOIN users u ON u.id = todos.user_id WHERE lower(u.email) = lower($1)',
      [email],
    );
    return rows[0]!.n;
  }

  const page = async (query = '') =>
    (await t.http().get(`/api/todos${query}`).set('Authorization', `Bearer ${token}`).expect(200)).body as {
      data: Todo[];
      next_cursor: string | null;
    };

  it('when 10,000 todos are seeded with a token, then it takes seconds and the token reads the newest page', async (tc) => {
    const { stdout, stderr, ms } = await seed('--todos', '10000', '--token', 'bench');
    tc.diagnostic(`seeded 10,000 todos in ${ms} ms, tsx start-up included`);
    assert.ok(ms < 15_000, `seeding took ${ms} ms`);
    assert.match(stderr, /has 10000 todos; added 10000 in \d+ ms/);
    token = stdout.trim();
    assert.match(token, /^tdo_[A-Za-z0-9_-]{43}$/, 'stdout must be exactly the new token');
    assert.equal(await todoCount(), 10_000);

    const first = await page();
    assert.equal(first.data.length, 10);
    assert.equal(typeof first.next_cursor, 'string');
    assert.deepEqual(
      first.data.map((x) => x.content),
      Array.from({ length: 10 }, (_, i) => `Seeded todo #${i + 1}`),
    );
    const times = first.data.map((x) => Date.parse(x.created_at));
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
      'newest first',
    );
    // Every third seeded todo is finished, so filters have work to do.
    assert.deepEqual(
      first.data.map((x) => x.is_finished),
      first.data.map((_, i) => (i + 1) % 3 === 0),
    );
    for (const x of first.data) assert.equal(x.finished_at, x.is_finished ? x.created_at : null);

    const second = await page(`?cursor=${first.next_cursor}`);
    assert.deepEqual(
      second.data.map((x) => x.content),
      Array.from({ length: 10 }, (_, i) => `Seeded todo #${i + 11}`),
    );
    const tokens = await t.http().get('/api/tokens').set('Authorization', `Bearer ${token}`).expect(200);
    assert.deepEqual(
      tokens.body.data.map((x: { name: string }) => x.name),
      ['bench'],
    );
  });

  it('when seeded again with the same count, then nothing is added', async () => {
    const { stdout, stderr } = await seed('--todos', '10000');
    assert.match(stderr, /has 10000 todos; added 0 in/);
    assert.equal(stdout, '', 'no token was asked for, so none is printed');
    assert.equal(await todoCount(), 10_000);
  });

  it('when seeded with a higher count, then it tops up with older todos to exactly that count', async () => {
    const { stderr } = await seed('--todos', '10500');
    assert.match(stderr, /has 10500 todos; added 500 in/);
    assert.equal(await todoCount(), 10_500);

    // The new todos are older than every existing one: the first page is unchanged.
    assert.equal((await page()).data[0]!.content, 'Seeded todo #1');
    const deep = await page('?start=10000&limit=100');
    assert.deepEqual(
      deep.data.map((x) => x.content),
      Array.from({ length: 100 }, (_, i) => `Seeded todo #${i + 10_001}`),
    );
    const { rows } = await t.deps.db.query<{ content: string }>(
      `SELECT content FROM todos JOIN users u ON u.id = todos.user_id WHERE lower(u.email) = lower($1)
        ORDER BY todos.created_at, todos.id LIMIT 1`,
      [email],
    );
    assert.equal(rows[0]?.content, 'Seeded todo #10500');
  });

  it('when the seeded user logs in with the default password, then a session starts', async () => {
    const res = await t.http().post('/api/session').send({ email, password: DEFAULT_PASSWORD }).expect(201);
    assert.equal(res.body.user.email, email);
    assert.equal(typeof res.body.csrf_token, 'string');
    await t.http().post('/api/session').send({ email, password: 'not-the-password' }).expect(401);
  });
});
