// npm run migrate [-- up | down [--steps N | --all]]
import { parseArgs } from 'node:util';
import pg from 'pg';
import { migrateDown, migrateUp } from '../migrate';

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { steps: { type: 'string' }, all: { type: 'boolean' } },
  });
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  const pool = new pg.Pool({ connectionString: url, max: 1, application_name: 'todo-stack migrate' });
  try {
    const command = positionals[0] ?? 'up';
    if (command === 'up') {
      const ran = await migrateUp(pool);
      console.log(ran.length ? `applied: ${ran.join(', ')}` : 'schema is up to date');
    } else if (command === 'down') {
      const steps = values.all ? Infinity : Number(values.steps ?? 1);
      if (!(steps >= 1)) throw new Error('--steps must be a positive number');
      const undone = await migrateDown(pool, steps);
      console.log(undone.length ? `rolled back: ${undone.join(', ')}` : 'nothing to roll back');
    } else {
      throw new Error(`unknown command "${command}"; use up or down`);
    }
  } finally {
    await pool.end();
  }
}

main().catch((err: unknown) => {
  console.error(`migrate: ${(err as Error).message}`);
  process.exit(1);
});
