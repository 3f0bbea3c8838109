import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type request from 'supertest';
import { assertProblem, signUp, startApp, uniqueEmail, type SessionUser, type TestApp } from '../helpers/app';
import { PASSWORD, sidCookieOf } from '../helpers/accounts';

// Log-in and sign-up set the session cookie, so another site must not be able
// to send them (login CSRF): what the browser says about where a request
// comes from (Origin, Sec-Fetch-Site) decides, and a form body, which any page
// can post, must show it comes from this origin.

type Headers = Record<string, string>;
type Route = { path: '/api/session' | '/api/users'; body: (u: SessionUser) => { email: string; password: string } };

const ROUTES: Route[] = [
  { path: '/api/session', body: (u) => ({ email: u.email, password: u.password }) },
  { path: '/api/users', body: () => ({ email: uniqueEmail('origin'), password: PASSWORD }) },
];

function post(t: TestApp, route: Route, u: SessionUser, headers: Headers, form = false): { res: Promise<request.Response>; email: string } {
  const body = route.body(u);
  let req = t.http().post(route.path).set(headers);
  if (form) req = req.type('form');
  return { res: req.send(body), email: body.email };
}

async function assertCrossSite(t: TestApp, route: Route, sent: { res: Promise<request.Response>; email: string }, what: string) {
  const res = await sent.res;
  const problem = assertProblem(res, 403);
  assert.equal(problem.type, '/problems/cross-site', `${route.path} ${what}`);
  assert.equal(problem.retryable, false);
  assert.equal(res.headers['set-cookie'], undefined, `${route.path} ${what}: no cookie`);
  if (route.path === '/api/users') {
    const { rowCount } = await t.deps.db.query('SELECT 1 FROM users WHERE lower(email) = lower($1)', [sent.email]);
    assert.equal(rowCount, 0, `${what}: no account is made`);
  }
}

async function assertAccepted(route: Route, sent: { res: Promise<request.Response> }, what: string) {
  const res = await sent.res;
  assert.equal(res.status, 201, `${route.path} ${what}: ${res.text}`);
  assert.ok(sidCookieOf(res).value.length > 0);
}

describe('log-in and sign-up only from this origin', () => {
  let t: TestApp;
  let u: SessionUser;
  let own: string;
  before(async () => {
    t = await startApp();
    u = await signUp(t, 'origin');
    own = t.url; // what supertest sends as Host: http://127.0.0.1:<port>
  });
  after(() => t.close());

  for (const route of ROUTES) {
    it(`when POST ${route.path} comes from this origin or from no browser at all, then it is accepted`, async () => {
      await assertAccepted(route, post(t, route, u, {}), 'JSON with neither Origin nor Sec-Fetch-Site (an API client)');
      await assertAccepted(route, post(t, route, u, { Origin: own }), 'Origin of this site, no Sec-Fetch-Site (an older browser)');
      await assertAccepted(route, post(t, route, u, { Origin: own, 'Sec-Fetch-Site': 'same-origin' }), 'same origin, both headers');
      await assertAccepted(route, post(t, route, u, { Origin: own.toUpperCase() }), 'Origin in capitals');
      await assertAccepted(route, post(t, route, u, { Origin: own, 'Sec-Fetch-Site': 'same-origin' }, true), 'a form from this origin');
      await assertAccepted(route, post(t, route, u, { 'Sec-Fetch-Site': 'same-origin' }, true), 'a form the browser says is same-origin');
    });

    it(`when POST ${route.path} says it comes from another origin, then 403 cross-site, no cookie and no account`, async () => {
      const other = `http://127.0.0.1:${new URL(own).port === '1' ? '2' : '1'}`;
      const cases: Array<[string, Headers]> = [
        ['Sec-Fetch-Site cross-site, no Origin', { 'Sec-Fetch-Site': 'cross-site' }],
        ['a foreign Origin, no Sec-Fetch-Site', { Origin: 'https://evil.example' }],
        ['a foreign Origin and Sec-Fetch-Site cross-site', { Origin: 'https://evil.example', 'Sec-Fetch-Site': 'cross-site' }],
        ['another port of this host (same-site)', { Origin: other, 'Sec-Fetch-Site': 'same-site' }],
        ['another port of this host, no Sec-Fetch-Site', { Origin: other }],
        ['this host over another scheme', { Origin: own.replace('http:', 'https:') }],
        ['Origin null (a sandboxed frame, a data: URL)', { Origin: 'null' }],
        ['Sec-Fetch-Site same-site with this Origin', { Origin: own, 'Sec-Fetch-Site': 'same-site' }],
      ];
      for (const [what, headers] of cases) await assertCrossSite(t, route, post(t, route, u, headers), what);
    });

    it(`when POST ${route.path} is a form that does not show it comes from this origin, then 403 cross-site`, async () => {
      await assertCrossSite(t, route, post(t, route, u, {}, true), 'a form with neither Origin nor Sec-Fetch-Site');
      await assertCrossSite(t, route, post(t, route, u, { Origin: 'https://evil.example' }, true), 'a form from another origin');
      await assertCrossSite(t, route, post(t, route, u, { 'Sec-Fetch-Site': 'cross-site' }, true), 'a cross-site form');
    });
  }
});

describe('log-in and sign-up origin behind a trusted proxy', () => {
  let behind: TestApp;
  let direct: TestApp;
  let u: SessionUser;
  before(async () => {
    [behind, direct] = await Promise.all([startApp({ TRUST_PROXY_HOPS: '1' }), startApp({ TRUST_PROXY_HOPS: '0' })]);
    u = await signUp(behind, 'proxied-origin');
  });
  after(() => Promise.all([behind.close(), direct.close()]));

  const proxied = (proto: string, host: string): Headers => ({ 'X-Forwarded-Proto': proto, 'X-Forwarded-Host': host });

  for (const route of ROUTES) {
    it(`when the proxy forwards the scheme and host the browser used, then POST ${route.path} from that origin is accepted`, async () => {
      await assertAccepted(
        route,
        post(behind, route, u, { ...proxied('https', 'todo.example'), Origin: 'https://todo.example' }),
        'default port',
      );
      await assertAccepted(
        route,
        post(behind, route, u, { ...proxied('https', 'todo.example:8443'), Origin: 'https://todo.example:8443' }),
        'port 8443',
      );
      await assertAccepted(
        route,
        post(behind, route, u, { ...proxied('https', 'todo.example:443'), Origin: 'https://todo.example' }),
        'the default port spelled out',
      );
      await assertAccepted(
        route,
        post(behind, route, u, { ...proxied('http', '127.0.0.1:8080'), Origin: 'http://127.0.0.1:8080' }),
        'http',
      );
    });

    it(`when the Origin differs from what the proxy forwards, or the proxy is not trusted, then POST ${route.path} is 403`, async () => {
      await assertCrossSite(
        behind,
        route,
        post(behind, route, u, { ...proxied('http', 'todo.example'), Origin: 'https://todo.example' }),
        'https page, http request',
      );
      await assertCrossSite(
        behind,
        route,
        post(behind, route, u, { ...proxied('https', 'todo.example'), Origin: behind.url }),
        "the app's own listening address",
      );
      await assertCrossSite(
        direct,
        route,
        post(direct, route, u, { ...proxied('http', 'todo.example'), Origin: 'http://todo.example' }),
        'X-Forwarded-Host from an untrusted client',
      );
    });
  }
});
