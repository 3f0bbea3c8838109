import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { checkRuntime, ConfigError, loadConfig } from '../app/config';

const ROOT = path.join(__dirname, '..');

describe('start-up checks', () => {
  it('when a worker starts on a Node.js older than package.json asks for, then it refuses with a message naming both', async () => {
    const { engines } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
    assert.equal(engines.node, '>=24');
    assert.throws(
      () => checkRuntime('v20.20.2', engines.node),
      (err: Error) => err instanceof ConfigError && err.message.includes('v20.20.2') && err.message.includes('>=24'),
    );
    assert.throws(() => checkRuntime('v23.11.0', engines.node), ConfigError);
    checkRuntime('v24.21.0', engines.node);
    checkRuntime('v26.1.0', engines.node);
    checkRuntime(process.version, engines.node);
  });

  it('when the tests run, then they run on the pinned Node.js, like everything the run command starts', async () => {
    const { dependencies } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: { node: string } };
    assert.equal(process.version, `v${dependencies.node}`);
    const { stdout } = await promisify(execFile)('node', ['--version']);
    assert.equal(stdout.trim(), `v${dependencies.node}`, 'node on the PATH of npm scripts');
  });

  it('when the limits per user are not set, then a user may have 20 API tokens and 250,000 todos; each can be set', () => {
    const stores = { DATABASE_URL: 'postgres://x@127.0.0.1/x', REDIS_URL: 'redis://127.0.0.1:1' };
    assert.deepEqual(loadConfig(stores).perUser, { tokens: 20, todos: 250_000 });
    assert.deepEqual(loadConfig({ ...stores, TOKEN_LIMIT_PER_USER: '5', TODO_LIMIT_PER_USER: '1000' }).perUser, { tokens: 5, todos: 1000 });
    assert.throws(
      () => loadConfig({ ...stores, TOKEN_LIMIT_PER_USER: '0' }),
      (err: Error) => err instanceof ConfigError && err.message.includes('TOKEN_LIMIT_PER_USER'),
    );
  });

  it('when a setting is malformed, then loading the config fails naming it', () => {
    assert.throws(
      () => loadConfig({ DATABASE_URL: 'mysql://x', REDIS_URL: 'redis://127.0.0.1:1' }),
      (err: Error) => err instanceof ConfigError && err.message.includes('DATABASE_URL'),
    );
  });
});
