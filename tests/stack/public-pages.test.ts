import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { accessLog, sleep, stack, stackSession, asSession as send } from '../helpers/stack';

type Session = Awaited<ReturnType<typeof stackSession>>;

/** Polls the anonymous page and JSON until both satisfy `ok`; returns how long that took. */
async function visibleWithin(slug: string, ok: (html: string, json: string, status: number) => boolean): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < 3_000) {
    const [page, json] = await Promise.all([fetch(`${stack.http}/u/${slug}`), fetch(`${stack.http}/api/public/${slug}/todos`)]);
    if (ok(await page.text(), await json.text(), page.status) && json.status === page.status) return Date.now() - start;
    await sleep(25);
  }
  return Infinity;
}

describe("public pages through nginx's proxy cache", () => {
  let owner: Session;
  let slug: string;
  before(async () => {
    owner = await stackSession();
    slug = `pub-${randomUUID().slice(0, 8)}`;
    assert.equal((await send(owner, 'PATCH', '/api/me', { public_slug: slug })).status, 200);
  });

  it('when the owner adds, edits, deletes or unpublishes, then the page and the JSON show it within 1 second', async (t) => {
    // Warm the edge cache first, so every change has an old copy to beat.
    await fetch(`${stack.http}/u/${slug}`);
    await fetch(`${stack.http}/api/public/${slug}/todos`);

    const created = await send(owner, 'POST', '/api/todos', { content: 'first <public> todo' });
    const todo = (await created.json()) as { id: string };
    const add = await visibleWithin(slug, (h, j) => h.includes('first &lt;public&gt; todo') && j.includes('first <public> todo'));

    await send(owner, 'PATCH', `/api/todos/${todo.id}`, { content: 'edited todo' });
    const edit = await visibleWithin(slug, (h, j) => h.includes('edited todo') && j.includes('edited todo'));

    await send(owner, 'DELETE', `/api/todos/${todo.id}`);
    const del = await visibleWithin(slug, (h, j) => !h.includes('edited todo') && !j.includes('edited todo'));

    await send(owner, 'PATCH', '/api/me', { public_slug: null });
    const unpublish = await visibleWithin(slug, (_h, _j, status) => status === 404);

    t.diagnostic(`visible after: add ${add} ms, edit ${edit} ms, delete ${del} ms, unpublish ${unpublish} ms`);
    for (const ms of [add, edit, del, unpublish]) assert.ok(ms <= 1_000, `a change took ${ms} ms to show`);
    assert.equal((await send(owner, 'PATCH', '/api/me', { public_slug: slug })).status, 200);
  });

  it('when 2,000 anonymous requests hit one public page in 5 seconds, then the app sees about one per second', async (t) => {
    const path = `/api/public/${slug}/todos`;
    const started = Date.now();
    let ok = 0;
    // 20 readers, each 100 requests, spread over ~5 s.
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        for (let i = 0; i < 100; i++) {
          const res = await fetch(`${stack.http}${path}`);
          await res.arrayBuffer();
          if (res.status === 200) ok++;
          await sleep(40);
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    const lines = (await accessLog()).filter((l) => l.uri === path && Date.parse(String(l.time)) >= started - 1_000);
    const upstream = lines.filter((l) => l.upstream_status !== '' && l.upstream_status !== '-').length;
    t.diagnostic(
      `${lines.length} requests in ${seconds.toFixed(1)} s, ${upstream} reached the app (1 in ${Math.round(lines.length / Math.max(upstream, 1))})`,
    );
    assert.equal(ok, 2_000);
    assert.ok(lines.length >= 2_000);
    // One per expired second, plus the first fill: a little slack for second boundaries.
    assert.ok(upstream <= Math.ceil(seconds) + 3, `${upstream} upstream requests in ${seconds} s`);
  });

  it('when a slug is unknown, malformed or taken, then 404, 422 and 409', async () => {
    assert.equal((await fetch(`${stack.http}/u/nobody-${randomUUID().slice(0, 8)}`)).status, 404);
    assert.equal((await fetch(`${stack.http}/api/public/nobody-${randomUUID().slice(0, 8)}/todos`)).status, 404);
    const bad = await fetch(`${stack.http}/api/public/Bad_Slug!/todos`);
    assert.equal(bad.status, 422);
    assert.equal(bad.headers.get('content-type'), 'application/problem+json; charset=utf-8');
    const other = await stackSession();
    const taken = await send(other, 'PATCH', '/api/me', { public_slug: slug });
    assert.equal(taken.status, 409);
    assert.equal(((await taken.json()) as { type: string }).type, '/problems/slug-taken');
  });

  it('when a request carries a cookie or a token, then nginx neither answers it from the cache nor stores its answer', async () => {
    const path = `/api/public/${slug}/todos`;
    await fetch(`${stack.http}${path}`);
    const withCookie = await fetch(`${stack.http}${path}`, { headers: { cookie: owner.cookie } });
    const withToken = await fetch(`${stack.http}${path}`, { headers: { authorization: 'Bearer tdo_not-a-real-token' } });
    assert.equal(withCookie.headers.get('x-cache-status'), 'BYPASS');
    assert.equal(withToken.headers.get('x-cache-status'), 'BYPASS');
    const anonymous = await fetch(`${stack.http}${path}`);
    assert.match(String(anonymous.headers.get('x-cache-status')), /HIT|EXPIRED|UPDATING|STALE|MISS/);
  });
});

describe('public pages when the owner unpublishes or renames', () => {
  it('when a list is unpublished or renamed, then every URL of the old slug, with any query string, is gone at once', async () => {
    const owner = await stackSession();
    const headers = { cookie: owner.cookie, 'x-csrf-token': owner.csrf, 'content-type': 'application/json' };
    const setSlug = (public_slug: string | null) =>
      fetch(`${stack.http}/api/me`, { method: 'PATCH', headers, body: JSON.stringify({ public_slug }) });
    for (let i = 0; i < 3; i++) {
      await fetch(`${stack.http}/api/todos`, { method: 'POST', headers, body: JSON.stringify({ content: `public ${i}` }) });
    }
    const variants = (slug: string) => [
      `/u/${slug}`,
      `/u/${slug}?limit=2`,
      `/api/public/${slug}/todos`,
      `/api/public/${slug}/todos?limit=20`,
      `/api/public/${slug}/todos?limit=2&x=1`,
    ];
    for (const [change, next] of [
      ['renamed', `renamed-${owner.id.slice(0, 8)}`],
      ['unpublished', null],
    ] as const) {
      const slug = `was-${owner.id.slice(0, 8)}-${change}`;
      assert.equal((await setSlug(slug)).status, 200);
      // Readers poll every variant, so nginx would hold whatever it may.
      for (let i = 0; i < 3; i++) for (const path of variants(slug)) assert.equal((await fetch(`${stack.http}${path}`)).status, 200, path);
      assert.equal((await setSlug(next)).status, 200);
      for (const path of variants(slug)) {
        const res = await fetch(`${stack.http}${path}`);
        assert.equal(res.status, 404, `${change}: ${path} still answers (${res.headers.get('x-cache-status')})`);
      }
    }
  });
});
