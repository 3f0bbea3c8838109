import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { transaction } from '../../app/db';
import { parseImport } from '../../app/todos/import-parse';
import { insertImportBatch, isTodoLimitError } from '../../app/todos/import-queries';
import { tokenUser, type TestApp } from '../helpers/app';
import { importUpload } from '../helpers/import';
import { countTodos, seedTodos, startTodosApp } from '../helpers/todos';

describe('todos: import batches and the per-user todo limit', () => {
  let t: TestApp;
  before(async () => {
    t = await startTodosApp();
  });
  after(() => t.close());

  const LIMIT = 10;
  const lines = (n: number, tag: string) =>
    Buffer.from(
      Array.from({ length: n }, (_, i) =>
        JSON.stringify({ content: `${tag} ${i}`, created_at: new Date(Date.UTC(2024, 0, 1, 0, 0, i)) }),
      ).join('\n'),
    );
  const todosOf = (upload: Buffer) => [...parseImport(upload, 'ndjson')].flatMap((r) => ('todo' in r ? [r.todo] : []));
  const counted = async (userId: string) =>
    (await t.deps.db.query<{ n: number }>('SELECT coalesce(sum(n), 0)::int AS n FROM todo_counts WHERE user_id = $1', [userId])).rows[0]!.n;

  it('when a batch would pass the limit, then it fails whole with a recognisable limit error and the transaction keeps nothing', async () => {
    const u = await tokenUser(t, 'import-limit');
    await seedTodos(t, u.id, LIMIT - 3);
    const client = await t.deps.db.connect();
    try {
      await client.query('BEGIN');
      const err = await insertImportBatch(client, u.id, todosOf(lines(5, 'over')), LIMIT).then(
        () => assert.fail('the batch should have failed'),
        (e: unknown) => e,
      );
      assert.ok(isTodoLimitError(err), String(err));
      assert.equal(err.status, 409);
      assert.match(err.message, /^Importing this file would give the account more than 10 todos, the most it may have\. Delete some/);
      assert.match(err.message, /import the file again: the lines imported already are skipped\.$/);
      // Whatever the caller does next, its transaction cannot keep any of the batch.
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    assert.equal(await countTodos(t, u.id), LIMIT - 3);
    assert.equal(await counted(u.id), LIMIT - 3);
    assert.equal(isTodoLimitError(new Error('todo limit reached')), false);
  });

  it('when a batch fits, then it is created, and lines skipped as imported before do not count against the limit', async () => {
    const u = await tokenUser(t, 'import-limit-fit');
    const upload = lines(LIMIT - 2, 'fits');
    const first = await importUpload(t.deps.db, u.id, upload, 'ndjson', { limit: LIMIT });
    assert.equal(first.created, LIMIT - 2);
    // The same eight lines and two new ones: exactly the room left.
    const more = Buffer.concat([upload, Buffer.from('\n'), lines(2, 'new')]);
    const second = await transaction(t.deps.db, (c) => insertImportBatch(c, u.id, todosOf(more), LIMIT));
    assert.deepEqual(second, { created: 2, skipped: LIMIT - 2 });
    assert.equal(await countTodos(t, u.id), LIMIT);
    assert.equal(await counted(u.id), LIMIT);
    await assert.rejects(
      transaction(t.deps.db, (c) => insertImportBatch(c, u.id, todosOf(lines(1, 'one more')), LIMIT)),
      (err) => isTodoLimitError(err),
    );
  });
});
