import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { apiWorkers, pm2 } from '../helpers/stack';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');

/** The version of the Node.js binary a process runs, read from the binary itself. */
async function nodeVersionOf(pid: number): Promise<string> {
  const exe = await readlink(`/proc/${pid}/exe`);
  return (await run(exe, ['--version'])).stdout.trim();
}

describe('the Node.js the stack runs on', () => {
  it("when the stack runs, then every worker and PM2 itself run the pinned Node.js 24, not the machine's", async () => {
    const pinned = (JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: { node: string } }).dependencies
      .node;
    assert.match(pinned, /^24\.\d+\.\d+$/, 'package.json pins an exact 24.x');
    const workers = await apiWorkers();
    assert.ok(workers.length >= 2, 'the API workers run');
    for (const w of workers) assert.equal(await nodeVersionOf(w.pid), `v${pinned}`, `worker ${w.pid}`);
    const daemon = Number(await readFile(path.join(process.env.PM2_HOME!, 'pm2.pid'), 'utf8'));
    assert.equal(await nodeVersionOf(daemon), `v${pinned}`, 'the PM2 daemon');
    // What PM2 itself reports for the app.
    const list = JSON.parse(await pm2('jlist')) as Array<{ name: string; pm2_env: { node_version: string } }>;
    for (const p of list.filter((x) => x.name === 'todo-api')) assert.equal(p.pm2_env.node_version, pinned);
  });
});
