import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { newSecret, TOKEN_PREFIX } from '../app/accounts/secrets';
import { BEARER_TOKEN, nginxContract } from '../app/nginx-contract';

// The CommonJS file PM2 loads, loaded the same way.
const ecosystem = createRequire(__filename)('../ecosystem.config.js') as {
  apps: Array<{ name: string; kill_timeout: number; env: Record<string, string> }>;
};

describe('what the app and nginx agree on (app/nginx-contract.json)', () => {
  it('when a worker drains, then nginx lets go of its sockets first and PM2 waits for the whole drain', () => {
    const { upstreamKeepaliveSeconds, shutdownDelayMs, drainTimeoutMs, killTimeoutMs } = nginxContract;
    assert.ok(shutdownDelayMs > upstreamKeepaliveSeconds * 1000, 'the worker listens longer than nginx keeps an idle socket');
    assert.ok(killTimeoutMs > shutdownDelayMs + drainTimeoutMs, 'PM2 kills only after the drain could have ended');
    const api = ecosystem.apps.find((a) => a.name === 'todo-api')!;
    assert.equal(api.kill_timeout, killTimeoutMs);
    assert.equal(api.env.SHUTDOWN_DELAY_MS, String(shutdownDelayMs));
  });

  it('when the app makes an API token, then the grammar nginx keys its copies by accepts it, and nothing else', () => {
    for (let i = 0; i < 100; i++) assert.match(`Bearer ${newSecret(TOKEN_PREFIX)}`, BEARER_TOKEN);
    for (const bad of [
      'Bearer tdo_',
      'Bearer abc',
      `Bearer ${newSecret(TOKEN_PREFIX)} `,
      `bearer ${newSecret(TOKEN_PREFIX)}`,
      `Bearer tdo_${'a'.repeat(197)}`,
    ]) {
      assert.doesNotMatch(bad, BEARER_TOKEN);
    }
  });

  it("when nginx's files are read, then every agreed value comes from the contract, never written out", async () => {
    const nginxDir = path.join(__dirname, '..', 'nginx');
    const read = (f: string) => readFile(path.join(nginxDir, f), 'utf8');
    assert.match(await read('snippets/client-limits.conf'), /client_max_body_size \{\{BODY_LIMIT\}\};/);
    assert.match(await read('snippets/problems.conf'), /at most \{\{BODY_LIMIT\}\} bytes/);
    // The batch's larger limit, on its own location only.
    const batchLocation = /location = \/api\/todos\/batch \{[\s\S]*?\n {2}\}/.exec(await read('sites/todo-stack.conf'))?.[0] ?? '';
    assert.match(batchLocation, /client_max_body_size \{\{BATCH_LIMIT\}\};/);
    assert.match(await read('snippets/problems.conf'), /at most \{\{BATCH_LIMIT\}\} bytes/);
    assert.match(await read('snippets/private-cache-zone.conf'), /inactive=\{\{PRIVATE_INACTIVE\}\}s/);
    assert.match(await read('nginx.conf'), /keepalive_timeout \{\{UPSTREAM_KEEPALIVE\}\}s;/);
    assert.match(await read('edge-credential.js'), /\/\^Bearer \(\{\{TOKEN_PATTERN\}\}\)\$\//);
  });
});
