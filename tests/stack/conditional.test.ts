import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { stack, stackSession } from '../helpers/stack';

// Conditional GETs as real clients send them, through nginx. Node's fetch
// adds "Cache-Control: no-cache" and "Pragma: no-cache" to any request with
// If-None-Match; browsers send them on a reload. Both ask caches on the way
// to revalidate; the origin still answers 304 (RFC 9111 §5.2.1.4).

type Session = Awaited<ReturnType<typeof stackSession>>;

describe('conditional requests through nginx, as clients send them', () => {
  let owner: Session;
  let token: string;
  let todoPath: string;
  before(async () => {
    owner = await stackSession();
    const headers = { cookie: owner.cookie, 'x-csrf-token': owner.csrf, 'content-type': 'application/json' };
    const created = await fetch(`${stack.http}/api/todos`, { method: 'POST', headers, body: JSON.stringify({ content: 'revalidate me' }) });
    todoPath = created.headers.get('location')!;
    const minted = await fetch(`${stack.http}/api/tokens`, { method: 'POST', headers, body: JSON.stringify({ name: 'etag' }) });
    token = ((await minted.json()) as { token: string }).token;
  });

  const credentials = () =>
    [
      ['a session', { cookie: owner.cookie }],
      ['a token', { authorization: `Bearer ${token}` }],
    ] as const;

  for (const [what, path] of [
    ['a todo', () => todoPath],
    ['the list', () => '/api/todos'],
    ['a page of the list', () => '/api/todos?limit=3'],
  ] as const) {
    it(`when ${what} is revalidated with If-None-Match and no-cache, with a session or a token, then the answer is 304`, async () => {
      for (const [who, auth] of credentials()) {
        const first = await fetch(`${stack.http}${path()}`, { headers: auth });
        assert.equal(first.status, 200, who);
        const etag = first.headers.get('etag');
        assert.ok(etag, `${who}: an ETag`);
        // fetch adds no-cache itself; sent explicitly too, so the test does
        // not depend on that.
        const again = await fetch(`${stack.http}${path()}`, {
          headers: { ...auth, 'if-none-match': etag, 'cache-control': 'no-cache', pragma: 'no-cache' },
        });
        assert.equal(again.status, 304, `${who}: ${what} revalidated`);
        assert.equal(await again.text(), '');
        const changed = await fetch(`${stack.http}${path()}`, {
          headers: { ...auth, 'if-none-match': 'W/"other"', 'cache-control': 'no-cache' },
        });
        assert.equal(changed.status, 200, `${who}: another ETag gets the body`);
      }
    });
  }
});
