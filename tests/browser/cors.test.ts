// The callbacks given to page.evaluate run in the page, so they are typed
// against the DOM.
/// <reference lib="dom" />
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { extraNginx, type ExtraNginx } from '../helpers/nginx';
import { stackSession, stackUser } from '../helpers/stack';
import { assertClean, launch, watchedPage } from './browser';

// A page on another origin calls the API with fetch and a token, as an API
// client's web app would: Chromium enforces CORS, so what the page can read
// is what nginx's CORS answers allow (nginx/snippets/cors*.conf). The API is
// an nginx rendered with CORS_ORIGINS naming one of two local page servers.

/** A page server on its own loopback port: another origin than the API's. */
async function pageServer(): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>API client</title><h1>client</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

type Read = { ok: true; status: number; etag: string | null; location: string | null; body: unknown } | { ok: false; error: string };

/** fetch from the page; a CORS refusal is a TypeError the page sees. */
function fetchFrom(
  page: Page,
  url: string,
  init: { method?: string; token?: string; body?: unknown; credentials?: 'omit' | 'include' } = {},
): Promise<Read> {
  return page.evaluate(
    async ({ url, method, token, body, credentials }) => {
      try {
        const headers: Record<string, string> = {};
        if (token) headers.authorization = `Bearer ${token}`;
        if (body !== undefined) headers['content-type'] = 'application/json';
        const res = await fetch(url, {
          method: method ?? 'GET',
          headers,
          credentials: credentials ?? 'omit',
          ...(body !== undefined && { body: JSON.stringify(body) }),
        });
        const text = await res.text();
        return {
          ok: true as const,
          status: res.status,
          etag: res.headers.get('etag'),
          location: res.headers.get('location'),
          body: text ? (JSON.parse(text) as unknown) : null,
        };
      } catch (err) {
        return { ok: false as const, error: String(err) };
      }
    },
    { url, ...init },
  );
}

describe('browser: a page on another origin calls the API with a token (CORS)', () => {
  let browser: Browser;
  let listed: Awaited<ReturnType<typeof pageServer>>;
  let unlisted: Awaited<ReturnType<typeof pageServer>>;
  let api: ExtraNginx;
  let token: string;
  before(async () => {
    listed = await pageServer();
    unlisted = await pageServer();
    api = await extraNginx({ CORS_ORIGINS: listed.origin });
    ({ token } = await stackUser());
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
    await api?.stop();
    await listed?.close();
    await unlisted?.close();
  });

  it('when the origin is listed, then the page reads the list, its ETag, a created todo and its Location, and a problem', async () => {
    const context = await browser.newContext();
    const watched = await watchedPage(context);
    const { page } = watched;
    await page.goto(listed.origin);

    const created = await fetchFrom(page, `${api.http}/api/todos`, { method: 'POST', token, body: { content: 'from another origin' } });
    assert.ok(created.ok, JSON.stringify(created));
    assert.equal(created.status, 201);
    const todo = created.body as { id: string; content: string };
    assert.equal(todo.content, 'from another origin');
    assert.equal(created.location, `/api/todos/${todo.id}`);

    // Twice: the second answer is nginx's copy of the token's first page.
    for (let i = 0; i < 2; i++) {
      const read = await fetchFrom(page, `${api.http}/api/todos`, { token });
      assert.ok(read.ok, JSON.stringify(read));
      assert.equal(read.status, 200);
      assert.match(read.etag ?? '', /^(W\/)?"/, 'the ETag is readable');
      assert.deepEqual(
        (read.body as { data: Array<{ id: string }> }).data.map((t) => t.id),
        [todo.id],
      );
    }
    const patched = await fetchFrom(page, `${api.http}/api/todos/${todo.id}`, { method: 'PATCH', token, body: { is_finished: true } });
    assert.ok(patched.ok && patched.status === 200, JSON.stringify(patched));
    const deleted = await fetchFrom(page, `${api.http}/api/todos/${todo.id}`, { method: 'DELETE', token });
    assert.ok(deleted.ok && deleted.status === 204, JSON.stringify(deleted));

    const refused = await fetchFrom(page, `${api.http}/api/todos`, { token: 'tdo_revoked-or-never-made' });
    assert.ok(refused.ok, 'a 401 is readable, not a network error');
    assert.equal(refused.status, 401);
    assert.equal((refused.body as { type: string }).type, '/problems/unauthenticated');
    // Chromium logs the 401 as a failed resource; anything else (a CORS refusal) fails the test.
    assertClean({ ...watched, problems: watched.problems.filter((p) => !/status of 401/.test(p)) });
    await context.close();
  });

  it('when the origin is not listed, then the page can read nothing, though the token is good', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(unlisted.origin);
    const read = await fetchFrom(page, `${api.http}/api/todos`, { token });
    assert.deepEqual(read, { ok: false, error: 'TypeError: Failed to fetch' });
    const write = await fetchFrom(page, `${api.http}/api/todos`, { method: 'POST', token, body: { content: 'not from here' } });
    assert.equal(write.ok, false, 'the preflight is refused, so nothing is sent');
    await context.close();
  });

  it('when a listed page sends the session cookie, then it reads nothing: no answer allows credentials', async () => {
    const session = await stackSession();
    const context = await browser.newContext();
    // The cookie of the API's host (cookies ignore ports), as after a log-in there.
    await context.addCookies([{ name: 'sid', value: session.cookie.split('=')[1]!, url: api.http, httpOnly: true, sameSite: 'Lax' }]);
    const page = await context.newPage();
    await page.goto(listed.origin);
    const withCookie = await fetchFrom(page, `${api.http}/api/me`, { credentials: 'include' });
    assert.equal(withCookie.ok, false, JSON.stringify(withCookie));
    const cookieAndToken = await fetchFrom(page, `${api.http}/api/todos`, { credentials: 'include', token });
    assert.equal(cookieAndToken.ok, false, 'no Access-Control-Allow-Credentials, so a credentialed fetch fails');
    const tokenOnly = await fetchFrom(page, `${api.http}/api/todos`, { token });
    assert.ok(tokenOnly.ok && tokenOnly.status === 200, 'the token alone works');
    await context.close();
  });
});
