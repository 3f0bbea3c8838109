import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { stack, stackSession } from '../helpers/stack';

// Cache purges echo their cache key in an HTML page. Anyone can plant a key
// (a public page with a script in its query string); if a browser could open
// the purge page from the site's origin, the script would run there and could
// mint an API token. Purges live on the internal listener, and its answers
// cannot run scripts anywhere.

const XSS = '<svg/onload=alert(document.domain)>';

/** A GET whose path is sent byte for byte (fetch would re-encode it). */
function rawGet(base: string, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    http
      .get({ host: url.hostname, port: url.port, path }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

describe('internal endpoints are off the public listener', () => {
  it("when a script is planted in a public page's cache key, then the public site has no purge page to reflect it, and the internal one cannot run it", async () => {
    const owner = await stackSession();
    const slug = `xss-${owner.id.slice(0, 8)}`;
    const set = await fetch(`${stack.http}/api/me`, {
      method: 'PATCH',
      headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ public_slug: slug }),
    });
    assert.equal(set.status, 200);
    // Plant the key: the query string is part of it.
    const planted = await rawGet(stack.http, `/u/${slug}?${XSS}`);
    assert.equal(planted.status, 200);

    const encoded = `/_edge/purge/public/u/${slug}%3F%3Csvg/onload=alert(document.domain)%3E`;
    const pub = await rawGet(stack.http, encoded);
    assert.equal(pub.status, 404, 'the public listener has no purge endpoint');
    assert.ok(!pub.body.includes('<svg'), 'nothing of the key is reflected');
    for (const path of ['/_edge/purge/public/u/x', `/_edge/purge/private/${'a'.repeat(64)}/api/todos`]) {
      assert.equal((await rawGet(stack.http, path)).status, 404, path);
    }

    // The internal listener still purges for the app, and whatever it
    // answers, a browser runs no script in it and sniffs no type.
    for (const path of [`/_edge/purge/public/u/${slug}?${XSS}`, encoded, '/_edge/purge/public/u/nothing-here', '/metrics', '/nowhere']) {
      const res = await rawGet(stack.internal, path);
      assert.equal(res.headers['content-security-policy'], "default-src 'none'; sandbox", `${path}: ${res.status}`);
      assert.equal(res.headers['x-content-type-options'], 'nosniff', path);
    }
  });
});
