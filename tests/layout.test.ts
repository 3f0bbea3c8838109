import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';

const APP = path.join(__dirname, '..', 'app');
// The entries and the composition roots (the app's, the API description's)
// wire features together; nothing else at the top may reach into one.
const WIRING = new Set(['server.ts', 'worker.ts', 'app.ts', 'openapi.ts']);

describe('the layout of app/', () => {
  it('when a shared module imports, then never from a feature folder above it (features depend on shared modules, not back)', async () => {
    const entries = await readdir(APP, { withFileTypes: true });
    const features = entries.filter((e) => e.isDirectory()).map((e) => e.name);
    const shared = entries.filter((e) => e.isFile() && e.name.endsWith('.ts') && !WIRING.has(e.name)).map((e) => e.name);
    assert.ok(shared.includes('edge.ts') && features.includes('accounts'), 'the layout this test knows');
    for (const file of shared) {
      const source = await readFile(path.join(APP, file), 'utf8');
      for (const [, from] of source.matchAll(/from '\.\/([^/']+)\//g)) {
        assert.ok(!features.includes(from!), `${file} imports from the feature folder ${from}/`);
      }
    }
  });

  it('when GET /api/todos is served, then one handler answers it (no path in front of Express)', async () => {
    const files = await readdir(path.join(APP, 'todos'));
    assert.ok(!files.includes('fast-first-page.ts'));
    const server = await readFile(path.join(APP, 'server.ts'), 'utf8');
    assert.match(server, /http\.createServer\(buildApp\(deps\)\)/, 'the server runs the Express app itself');
  });
});
