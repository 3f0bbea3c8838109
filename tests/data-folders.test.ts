import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

// When the checkout is where the postgres user cannot go (a clone under
// /root), PostgreSQL's data lives elsewhere. That folder must never be a
// path someone else can guess and make first (root then chowns and writes
// into it): it is made by mktemp and remembered.

const run = promisify(execFile);
const LIB = path.join(__dirname, '..', 'scripts', 'lib.sh');
const pgDatadir = async (wanted: string) =>
  (await run('bash', ['-c', `source "${LIB}" && pg_datadir "$1"`, 'pg_datadir', wanted])).stdout.trim();

describe('PostgreSQL data folders outside the checkout (as root, like the run command)', () => {
  const made: string[] = [];
  after(async () => {
    for (const dir of made) await rm(dir, { recursive: true, force: true });
  });

  it('when the checkout is closed to the postgres user, then the data goes to a fresh mktemp folder, found again later, never a link', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'todo-home-'));
    made.push(home);
    const wanted = path.join(home, 'stack', 'pg');
    const first = await pgDatadir(wanted);
    made.push(path.dirname(first));
    assert.notEqual(first, wanted, 'a folder postgres can reach');
    assert.match(path.dirname(first), /^\/var\/tmp\/todo-stack-pg\.[A-Za-z0-9]{8}$/);
    const parent = await lstat(path.dirname(first));
    assert.ok(parent.isDirectory() && !parent.isSymbolicLink());
    assert.equal(parent.mode & 0o777, 0o711);
    assert.equal(parent.uid, 0);
    assert.equal(await pgDatadir(wanted), first, 'the same folder next time');
    assert.equal((await readFile(path.join(home, 'stack', 'pg.location'), 'utf8')).trim(), path.dirname(first));

    // Someone swaps the remembered folder for a link: it is not followed.
    await rm(path.dirname(first), { recursive: true });
    const bait = await mkdtemp(path.join(os.tmpdir(), 'todo-bait-'));
    made.push(bait);
    await mkdir(path.join(bait, 'pg'));
    await symlink(bait, path.dirname(first));
    made.push(path.dirname(first));
    const second = await pgDatadir(wanted);
    made.push(path.dirname(second));
    assert.notEqual(path.dirname(second), path.dirname(first));
    assert.ok(!(await lstat(path.dirname(second))).isSymbolicLink());
  });
});
