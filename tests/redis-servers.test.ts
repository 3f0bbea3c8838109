import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

// The private Redis servers the run and test commands start (scripts/lib.sh):
// each asks for a password, and a server already on the port is used only if
// it is this one.

const run = promisify(execFile);
const LIB = path.join(__dirname, '..', 'scripts', 'lib.sh');
const PORT = '63877';
const lib = (fn: string, ...args: string[]) => run('bash', ['-c', `source "${LIB}" && ${fn} "$@"`, fn, ...args]);
const ping = (...auth: string[]) =>
  run('redis-cli', ['--no-auth-warning', ...auth, '-p', PORT, 'ping']).then(
    (r) => r.stdout.trim(),
    (err: { stdout?: string }) => String(err.stdout ?? '').trim(),
  );

describe('private Redis servers', () => {
  const dirs: string[] = [];
  const tmp = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'todo-redis-'));
    dirs.push(dir);
    return dir;
  };
  after(async () => {
    await run('redis-cli', ['-p', PORT, 'shutdown', 'nosave']).catch(() => undefined);
    for (const dir of dirs) {
      await lib('stop_redis', dir, PORT).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("when one is started, then it refuses clients without its password, and its folder and secrets are its owner's alone", async () => {
    const dir = await tmp();
    const { stdout } = await lib('start_redis', dir, PORT, 'fast');
    const url = new URL(stdout.trim());
    assert.ok(url.password.length >= 20, 'the URL carries a password');
    assert.match(await ping(), /NOAUTH/);
    assert.equal(await ping('-a', decodeURIComponent(url.password)), 'PONG');
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    for (const f of ['redis-password', 'redis.conf']) assert.equal((await stat(path.join(dir, f))).mode & 0o077, 0, f);
    // Started again, it finds its own server and uses it.
    assert.equal((await lib('start_redis', dir, PORT, 'fast')).stdout.trim(), stdout.trim());
    await lib('stop_redis', dir, PORT);
  });

  it('when a Redis that asks for no password, or for another one, already listens on the port, then it is refused', async () => {
    const open = await tmp();
    await run('redis-server', ['--port', PORT, '--bind', '127.0.0.1', '--save', '', '--daemonize', 'yes', '--dir', open]);
    for (let i = 0; i < 50 && (await ping()) !== 'PONG'; i++) await sleep(100);
    await assert.rejects(lib('start_redis', await tmp(), PORT, 'fast'), (err: { stderr: string }) =>
      /answers without a password; refusing to use it/.test(err.stderr),
    );
    await run('redis-cli', ['-p', PORT, 'shutdown', 'nosave']);

    const other = await tmp();
    await lib('start_redis', other, PORT, 'fast');
    await assert.rejects(lib('start_redis', await tmp(), PORT, 'fast'), (err: { stderr: string }) =>
      /is not this stack's/.test(err.stderr),
    );
    await lib('stop_redis', other, PORT);
  });
});
