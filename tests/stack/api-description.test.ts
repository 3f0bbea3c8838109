import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildApiDocument } from '../../app/openapi';
import { readStackEnv } from '../../scripts/stack-env';
import { stack } from '../helpers/stack';

const ROOT = path.resolve(__dirname, '..', '..');

describe('the API description through nginx', () => {
  it('when /api/openapi.json is fetched, then nginx serves the built description, for a minute, revalidated by ETag', async () => {
    const res = await fetch(`${stack.http}/api/openapi.json`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'public, max-age=60');
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    assert.ok(res.headers.get('x-request-id'));
    const served = (await res.json()) as { openapi: string; info: { version: string } };
    assert.equal(served.openapi, '3.1.0');
    // What the schemas make now, not a copy kept by hand.
    const { version } = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.deepEqual(served, JSON.parse(JSON.stringify(buildApiDocument(version))));

    const etag = res.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(`${stack.http}/api/openapi.json`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });

  it('when /api/docs is fetched, then it is the static reference page under the site CSP, and no worker is asked', async () => {
    const res = await fetch(`${stack.http}/api/docs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    assert.equal(res.headers.get('cache-control'), 'public, max-age=60');
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'; script-src 'self'; style-src 'self';/);
    const html = await res.text();
    assert.match(html, /<script type="module" src="\/assets\/api-docs-[A-Z0-9]{8}\.js"><\/script>/);
    assert.doesNotMatch(html, /<script>|<style>|style=|https?:\/\//, 'no inline script or style, no other host');
    // Static files: the workers answer neither path (the app's own 404).
    const appPort = readStackEnv(path.join(stack.dir, 'stack.env')).PORT;
    for (const p of ['/api/openapi.json', '/api/docs']) {
      const direct = await fetch(`http://127.0.0.1:${appPort}${p}`);
      assert.equal(direct.status, 404, `${p} is not the workers'`);
    }
    // Nor is it on the internal listener.
    assert.equal((await fetch(`${stack.internal}/api/openapi.json`)).status, 404);
  });
});
