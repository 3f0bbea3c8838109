import assert from 'node:assert/strict';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { extraNginx, freePort, type ExtraNginx } from '../helpers/nginx';
import { sleep, stack, stackSession, stackUser } from '../helpers/stack';

// CORS for API clients is nginx's (nginx/snippets/cors*.conf): these tests
// send what browsers send (Origin, preflights) through an nginx rendered with
// CORS_ORIGINS by the run command's render_nginx, in front of the test
// stack's workers, and through the test stack's own nginx, which runs with
// the default: no CORS_ORIGINS, no CORS.

const A = 'https://app.example.test';
const B = 'http://127.0.0.1:5173';
const UNLISTED = 'https://evil.example.test';

type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string };

// Every answer of this file, for the one check that holds for all of them.
const answers: Array<{ what: string; answer: Answer }> = [];

/** A request as a browser sends it, from a chosen local address; node's fetch may not send Origin itself. */
function call(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
  from?: string,
): Promise<Answer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, localAddress: from },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          const answer = { status: res.statusCode ?? 0, headers: res.headers, body: text };
          answers.push({ what: `${method} ${path} ${JSON.stringify(headers).slice(0, 200)}`, answer });
          resolve(answer);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const list = (value: string | string[] | undefined) =>
  String(value ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

const EXPOSED = ['etag', 'location', 'retry-after', 'ratelimit', 'ratelimit-policy', 'x-request-id'];

/** What a page on `origin` needs to read this answer, and nothing that would let a cookie through. */
function assertReadableBy(res: Answer, origin: string, what: string): void {
  assert.equal(res.headers['access-control-allow-origin'], origin, `${what}: Access-Control-Allow-Origin`);
  const exposed = list(res.headers['access-control-expose-headers']);
  for (const name of EXPOSED) assert.ok(exposed.includes(name), `${what}: exposes ${name} (${exposed.join(', ')})`);
  assert.ok(list(res.headers.vary).includes('origin'), `${what}: Vary: Origin (${String(res.headers.vary)})`);
  assert.equal(res.headers['access-control-allow-credentials'], undefined, `${what}: never credentials`);
  assert.equal(res.headers['access-control-allow-methods'], undefined, `${what}: preflight headers only on preflights`);
}

/** No CORS header of any kind: the browser keeps the answer from the page. */
function assertNoCors(res: Answer, what: string): void {
  const cors = Object.keys(res.headers).filter((h) => h.startsWith('access-control-'));
  assert.deepEqual(cors, [], `${what}: no CORS headers`);
}

const preflight = (base: string, origin: string, path: string, method: string, requestHeaders: string) =>
  call(base, 'OPTIONS', path, {
    origin,
    'access-control-request-method': method,
    'access-control-request-headers': requestHeaders,
  });

const problemType = (res: Answer) => (JSON.parse(res.body) as { type: string }).type;

describe('CORS for API clients, with CORS_ORIGINS set (a setting of the run command)', () => {
  let edge: ExtraNginx;
  let user: Awaited<ReturnType<typeof stackUser>>;
  before(async () => {
    edge = await extraNginx({
      CORS_ORIGINS: `${A}, ${B}`,
      // 127.0.0.1 stays exempt from the per-IP limit; 127.0.0.2 meets it at once.
      NGINX_LIMIT_EXEMPT: '127.0.0.1 0;',
      NGINX_LIMIT_RATE: '1',
      NGINX_LIMIT_BURST: '1',
    });
    user = await stackUser();
  });
  after(async () => {
    await edge?.stop();
  });

  const withToken = (origin: string, method: string, path: string, body?: unknown, auth = user.auth) =>
    call(
      edge.http,
      method,
      path,
      { origin, authorization: auth, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body === undefined ? undefined : JSON.stringify(body),
    );

  it('when a listed origin sends a preflight, then nginx grants the methods and headers a token client needs, for 2 hours, before and after a copy exists', async () => {
    const check = async (path: string, method: string, what: string) => {
      const res = await preflight(edge.http, A, path, method, 'authorization, content-type, if-match, idempotency-key, x-request-id');
      assert.equal(res.status, 204, what);
      assert.equal(res.headers['access-control-allow-origin'], A, what);
      const methods = list(res.headers['access-control-allow-methods']);
      for (const m of ['get', 'post', 'put', 'patch', 'delete']) assert.ok(methods.includes(m), `${what}: allows ${m}`);
      const headers = list(res.headers['access-control-allow-headers']);
      for (const h of ['authorization', 'content-type', 'if-match', 'if-none-match', 'idempotency-key', 'x-request-id']) {
        assert.ok(headers.includes(h), `${what}: allows ${h}`);
      }
      assert.equal(res.headers['access-control-max-age'], '7200', what);
      assert.ok(list(res.headers.vary).includes('origin'), what);
      assert.equal(res.headers['access-control-allow-credentials'], undefined, what);
      assert.equal(res.body, '', what);
    };
    await check('/api/todos', 'POST', 'list, no copy yet');
    for (let i = 0; i < 20 && (await withToken(A, 'GET', '/api/todos')).headers['x-cache-status'] !== 'HIT'; i++) await sleep(50);
    assert.equal((await withToken(A, 'GET', '/api/todos')).headers['x-cache-status'], 'HIT', 'nginx holds a copy now');
    await check('/api/todos', 'GET', 'list, with a copy');
    await check(`/api/todos/${randomUUID()}`, 'PATCH', 'one todo');
    await check(`/api/todos/${randomUUID()}/finish`, 'PUT', 'finish');
    await check('/api/todos/export', 'GET', 'export (a location of its own)');
    await check('/api/todos/import', 'POST', 'import (a location of its own)');
    await check('/api/tokens', 'GET', 'tokens');
    const preflights = (await edge.accessLog()).filter((l) => l.method === 'OPTIONS');
    assert.equal(preflights.length, 7);
    for (const l of preflights) assert.equal(l.upstream_status, '', `${String(l.uri)}: answered by nginx, no worker asked`);
  });

  it('when an unlisted origin sends a preflight, or a listed one asks for log-in or sign-up, then nothing is granted and nothing fails', async () => {
    for (const [origin, path, method] of [
      [UNLISTED, '/api/todos', 'GET'],
      [UNLISTED, '/api/todos', 'POST'],
      ['https://app.example.test.evil.test', '/api/todos', 'GET'],
      ['null', '/api/todos', 'GET'],
      [A, '/api/session', 'POST'],
      [A, '/api/users', 'POST'],
    ] as const) {
      const res = await preflight(edge.http, origin, path, method, 'authorization, content-type');
      assert.ok(res.status < 500, `${origin} ${path}: ${res.status}`);
      assertNoCors(res, `${origin} ${method} ${path}`);
    }
  });

  it('when a listed origin reads and writes with a token, then every answer is readable by it: GET, POST, PATCH, PUT, DELETE, export', async () => {
    const created = await withToken(B, 'POST', '/api/todos', { content: `cors ${randomUUID()}` }, user.auth);
    assert.equal(created.status, 201, created.body);
    assertReadableBy(created, B, 'POST');
    assert.match(String(created.headers.location), /^\/api\/todos\//);
    const { id } = JSON.parse(created.body) as { id: string };

    const one = await withToken(B, 'GET', `/api/todos/${id}`);
    assert.equal(one.status, 200);
    assert.ok(one.headers.etag, 'an ETag to read');
    assertReadableBy(one, B, 'GET one');
    const page = await withToken(B, 'GET', '/api/todos?limit=5');
    assert.equal(page.status, 200);
    assertReadableBy(page, B, 'GET list');

    const patched = await withToken(B, 'PATCH', `/api/todos/${id}`, { content: 'patched' });
    assert.equal(patched.status, 200, patched.body);
    assertReadableBy(patched, B, 'PATCH');
    const finished = await withToken(B, 'PUT', `/api/todos/${id}/finish`);
    assert.equal(finished.status, 200, finished.body);
    assertReadableBy(finished, B, 'PUT finish');
    const exported = await withToken(B, 'GET', '/api/todos/export');
    assert.equal(exported.status, 200);
    assertReadableBy(exported, B, 'export');
    assert.ok(list(exported.headers['access-control-expose-headers']).includes('content-disposition'), 'its file name');
    const deleted = await withToken(B, 'DELETE', `/api/todos/${id}`);
    assert.equal(deleted.status, 204);
    assertReadableBy(deleted, B, 'DELETE');
  });

  it("when nginx answers a first page from a token's copy, then each origin gets its own answer: never another origin's", async () => {
    const reader = await stackUser();
    const first = await withToken(A, 'GET', '/api/todos', undefined, reader.auth);
    assert.equal(first.headers['access-control-allow-origin'], A);
    let copy = first;
    for (let i = 0; i < 20 && copy.headers['x-cache-status'] !== 'HIT'; i++) {
      await sleep(50);
      copy = await withToken(A, 'GET', '/api/todos', undefined, reader.auth);
    }
    assert.equal(copy.headers['x-cache-status'], 'HIT', 'nginx holds a copy for this token');
    assertReadableBy(copy, A, 'A, from the copy');

    const fromB = await withToken(B, 'GET', '/api/todos', undefined, reader.auth);
    assert.equal(fromB.headers['x-cache-status'], 'HIT');
    assert.equal(fromB.body, copy.body, 'the same copy');
    assertReadableBy(fromB, B, 'B, from the copy');
    const fromUnlisted = await withToken(UNLISTED, 'GET', '/api/todos', undefined, reader.auth);
    assert.equal(fromUnlisted.headers['x-cache-status'], 'HIT');
    assertNoCors(fromUnlisted, 'an unlisted origin, from the copy');
    const noOrigin = await call(edge.http, 'GET', '/api/todos', { authorization: reader.auth });
    assert.equal(noOrigin.headers['x-cache-status'], 'HIT');
    assertNoCors(noOrigin, 'no Origin, from the copy');
    assertReadableBy(await withToken(A, 'GET', '/api/todos', undefined, reader.auth), A, 'A again');
  });

  it('when a public page is in the shared cache, then anonymous readers get no CORS from any origin, and a token from a listed one passes it by', async () => {
    const slug = `cors-${randomUUID().slice(0, 8)}`;
    assert.equal((await withToken(A, 'PATCH', '/api/me', { public_slug: slug })).status, 200);
    const path = `/api/public/${slug}/todos`;
    let anonymous = await call(edge.http, 'GET', path, { origin: A });
    for (let i = 0; i < 10 && anonymous.headers['x-cache-status'] !== 'HIT'; i++)
      anonymous = await call(edge.http, 'GET', path, { origin: A });
    assert.equal(anonymous.headers['x-cache-status'], 'HIT');
    assertNoCors(anonymous, 'anonymous, from the shared copy');
    const token = await withToken(A, 'GET', path);
    assert.equal(token.headers['x-cache-status'], 'BYPASS');
    assertReadableBy(token, A, 'with a token');
    const again = await call(edge.http, 'GET', path, { origin: B });
    assert.equal(again.headers['x-cache-status'], 'HIT');
    assertNoCors(again, 'anonymous again');
  });

  it('when a request carries the session cookie and no token, then no origin gets CORS, and nothing ever allows credentials', async () => {
    const session = await stackSession();
    const asBrowser = (method: string, path: string, extra: Record<string, string> = {}, body?: unknown) =>
      call(
        edge.http,
        method,
        path,
        { origin: A, cookie: session.cookie, 'x-csrf-token': session.csrf, 'content-type': 'application/json', ...extra },
        body === undefined ? undefined : JSON.stringify(body),
      );
    const read = await asBrowser('GET', '/api/todos');
    assert.equal(read.status, 200, 'the cookie works');
    assertNoCors(read, 'cookie GET');
    const write = await asBrowser('POST', '/api/todos', {}, { content: 'by cookie' });
    assert.equal(write.status, 201);
    assertNoCors(write, 'cookie POST');
    assertNoCors(await asBrowser('GET', '/api/session'), 'the session');
    assertNoCors(await asBrowser('GET', '/api/me'), 'me');
    const anonymous = await call(edge.http, 'GET', '/api/todos', { origin: A });
    assert.equal(anonymous.status, 401);
    assertNoCors(anonymous, 'no credential at all');
    // With a token too, the token is what counts (app/accounts/auth.ts): readable, but never with credentials.
    const both = await asBrowser('GET', '/api/todos', { authorization: user.auth });
    assertReadableBy(both, A, 'cookie and token');
    const logIn = await call(
      edge.http,
      'POST',
      '/api/session',
      { origin: A, 'content-type': 'application/json', authorization: user.auth },
      JSON.stringify({ email: session.email, password: session.password }),
    );
    assert.equal(logIn.status, 403, 'log-in stays same-origin only');
    assertNoCors(logIn, 'log-in');
  });

  it("when the app or nginx answers a listed origin with an error, then the problem is readable: the app's 401, 404 and 422, nginx's 413 and 429", async () => {
    const unauthorized = await withToken(A, 'GET', '/api/todos', undefined, 'Bearer tdo_not-a-real-token');
    assert.equal(unauthorized.status, 401);
    assert.equal(problemType(unauthorized), '/problems/unauthenticated');
    assertReadableBy(unauthorized, A, '401 from the app');
    assert.ok(list(unauthorized.headers['access-control-expose-headers']).includes('www-authenticate'));

    const missing = await withToken(A, 'GET', `/api/todos/${randomUUID()}`);
    assert.equal(missing.status, 404);
    assert.equal(problemType(missing), '/problems/not-found');
    assertReadableBy(missing, A, '404 from the app');

    const invalid = await withToken(A, 'POST', '/api/todos', { content: '' });
    assert.equal(invalid.status, 422);
    assertReadableBy(invalid, A, '422 from the app');

    const tooLarge = await withToken(A, 'POST', '/api/todos', { content: 'x'.repeat(20_000) });
    assert.equal(tooLarge.status, 413);
    assert.equal(problemType(tooLarge), '/problems/body-too-large');
    assertReadableBy(tooLarge, A, '413 from nginx');

    // 127.0.0.2 is not exempt from this nginx's per-IP limit: 1 r/s, burst 1.
    const limited: Answer[] = [];
    for (let i = 0; i < 4; i++) {
      limited.push(await call(edge.http, 'GET', '/api/todos', { origin: A, authorization: user.auth }, undefined, '127.0.0.2'));
    }
    const tooMany = limited.find((r) => r.status === 429);
    assert.ok(tooMany, `a 429 among ${limited.map((r) => r.status).join(', ')}`);
    assert.equal(problemType(tooMany), '/problems/rate-limited');
    assert.equal(tooMany.headers['retry-after'], '1');
    assertReadableBy(tooMany, A, '429 from nginx');

    const log = await edge.accessLog();
    for (const res of [tooLarge, tooMany]) {
      const line = log.find((l) => l.request_id === res.headers['x-request-id']);
      assert.equal(line?.upstream_status, '', `${res.status}: nginx's own answer`);
    }
  });

  it('when no worker answers, then the 503 is readable too, and preflights are still answered', async () => {
    const down = await extraNginx({ CORS_ORIGINS: A, APP_PORT: String(await freePort()) });
    try {
      const res = await call(down.http, 'GET', '/api/todos', { origin: A, authorization: user.auth });
      assert.equal(res.status, 503);
      assert.equal(problemType(res), '/problems/dependency-unavailable');
      assertReadableBy(res, A, '503 from nginx');
      const pre = await preflight(down.http, A, '/api/todos', 'POST', 'authorization, content-type');
      assert.equal(pre.status, 204);
      assert.equal(pre.headers['access-control-allow-origin'], A);
    } finally {
      await down.stop();
    }
  });

  it('when anything above was answered, then no answer allowed credentials', () => {
    assert.ok(answers.length > 40, `${answers.length} answers`);
    for (const { what, answer } of answers) assert.equal(answer.headers['access-control-allow-credentials'], undefined, what);
  });
});

describe('CORS with CORS_ORIGINS empty (the default: the test stack)', () => {
  it('when any origin sends a preflight or a token request, then no answer carries CORS headers or varies by Origin', async () => {
    const { auth } = await stackUser();
    for (const origin of [A, B, UNLISTED]) {
      const pre = await preflight(stack.http, origin, '/api/todos', 'POST', 'authorization, content-type');
      assert.ok(pre.status < 500, `preflight: ${pre.status}`);
      assertNoCors(pre, `preflight from ${origin}`);
      for (let i = 0; i < 3; i++) {
        const read = await call(stack.http, 'GET', '/api/todos', { origin, authorization: auth });
        assert.equal(read.status, 200);
        assertNoCors(read, `GET from ${origin}`);
        assert.ok(!list(read.headers.vary).includes('origin'), 'no Vary: Origin');
      }
      const tooLarge = await call(
        stack.http,
        'POST',
        '/api/todos',
        { origin, authorization: auth, 'content-type': 'application/json' },
        JSON.stringify({ content: 'x'.repeat(20_000) }),
      );
      assert.equal(tooLarge.status, 413);
      assertNoCors(tooLarge, '413');
    }
  });
});
