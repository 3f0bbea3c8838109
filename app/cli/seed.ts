// npm run seed -- --email demo@example.com --todos 10000 [--password P] [--token NAME]
import { parseArgs } from 'node:util';
import pg from 'pg';
import { hashPassword } from '../accounts/passwords';
import { DEFAULT_SCRYPT } from '../config';
import { digest, newSecret, TOKEN_PREFIX } from '../accounts/secrets';
import { transaction } from '../db';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      todos: { type: 'string', default: '100' },
      password: { type: 'string', default: 'demo-password' },
      token: { type: 'string' },
    },
  });
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  if (!values.email) throw new Error('--email is required');
  const target = Number(values.todos);
  if (!Number.isInteger(target) || target < 0 || target > 10_000_000) throw new Error('--todos must be a whole number up to 10000000');

  const pool = new pg.Pool({ connectionString: url, max: 1, application_name: 'todo-stack seed' });
  try {
    const started = Date.now();
    const hash = await hashPassword(values.password, DEFAULT_SCRYPT);
    const result = await transaction(pool, async (client) => {
      // Creates the user once; later runs lock the row so two seeds in
      // parallel cannot both top up.
      await client.query('INSERT INTO users (email, password_hash) VALUES ($1, $2) ON CONFLICT (lower(email)) DO NOTHING', [
        values.email,
        hash,
      ]);
      const {
        rows: [user],
      } = await client.query<{ id: string }>('SELECT id FROM users WHERE lower(email) = lower($1) FOR UPDATE', [values.email]);
      const {
        rows: [count],
      } = await client.query<{ n: number; oldest: Date | null }>(
        'SELECT count(*)::int AS n, min(created_at) AS oldest FROM todos WHERE user_id = $1',
        [user!.id],
      );
      // One set-based INSERT; each new todo is a second older than the last,
      // every third one finished, so paging and filters have real work.
      const { rowCount } = await client.query(
        `INSERT INTO todos (user_id, content, is_finished, finished_at, created_at, updated_at)
         SELECT $1, 'Seeded todo #' || n, n % 3 = 0, CASE WHEN n % 3 = 0 THEN t END, t, t
           FROM generate_series($2::int + 1, $3::int) AS n,
                LATERAL (SELECT COALESCE($4::timestamptz, now()) - (n - $2::int) * interval '1 second') AS x(t)`,
        [user!.id, count!.n, target, count!.oldest],
      );
      let token: string | undefined;
      if (values.token) {
        token = newSecret(TOKEN_PREFIX);
        await client.query('INSERT INTO api_tokens (user_id, name, token_hash) VALUES ($1, $2, $3)', [
          user!.id,
          values.token,
          digest(token),
        ]);
      }
      return { userId: user!.id, added: rowCount ?? 0, total: count!.n + (rowCount ?? 0), token };
    });
    await pool.query('ANALYZE todos');
    const ms = Date.now() - started;
    console.error(`seed: ${values.email} (${result.userId}) has ${result.total} todos; added ${result.added} in ${ms} ms`);
    if (result.token) console.log(result.token);
  } finally {
    await pool.end();
  }
}

main().catch((err: unknown) => {
  console.error(`seed: ${(err as Error).message}`);
  process.exit(1);
});
