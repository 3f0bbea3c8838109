import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { buildApp } from '../../app/app';
import { loadConfig } from '../../app/config';
import { closeDeps, openDeps, type Deps } from '../../app/deps';

export type TestApp = {
  deps: Deps;
  server: http.Server;
  url: string;
  http: () => ReturnType<typeof request>;
  close: () => Promise<void>;
};

/** The real app on a random port, over the test PostgreSQL and Redis. */
/** The app's own scrypt cost, for the tests of it: `npm test` lowers it for the others (scripts/test.sh). */
export const PRODUCTION_SCRYPT: NodeJS.ProcessEnv = { PASSWORD_SCRYPT_LOG_N: undefined, PASSWORD_SCRYPT_P: undefined };

export async function startApp(env: NodeJS.ProcessEnv = {}): Promise<TestApp> {
  const config = loadConfig({ ...process.env, ...env });
  const deps = await openDeps(config);
  const server = http.createServer(buildApp(deps));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    deps,
    server,
    url: `http://127.0.0.1:${port}`,
    http: () => request(server),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await closeDeps(deps);
    },
  };
}

export const uniqueEmail = (tag = 'user') => `${tag}-${randomUUID()}@example.test`;

export type SessionUser = { id: string; email: string; password: string; cookie: string; csrf: string };

/** Signs a new user up through the API; returns the session cookie and CSRF token. */
export async function signUp(t: TestApp, tag?: string): Promise<SessionUser> {
  const email = uniqueEmail(tag);
  const password = 'correct horse battery';
  const res = await t.http().post('/api/users').send({ email, password }).expect(201);
  const cookie = sessionCookie(res.headers['set-cookie']);
  return { id: res.body.user.id, email, password, cookie, csrf: res.body.csrf_token };
}

export function sessionCookie(setCookie: string | string[] | undefined): string {
  const all = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
  const sid = all.find((c) => c.startsWith('sid='));
  if (!sid) throw new Error(`no sid cookie in ${JSON.stringify(setCookie)}`);
  return sid.split(';')[0]!;
}

export type TokenUser = SessionUser & { token: string; auth: string };

/** A new user with a personal API token, for bearer-authenticated calls. */
export async function tokenUser(t: TestApp, tag?: string): Promise<TokenUser> {
  const u = await signUp(t, tag);
  const res = await t.http().post('/api/tokens').set('Cookie', u.cookie).set('X-CSRF-Token', u.csrf).send({ name: 'tests' }).expect(201);
  return { ...u, token: res.body.token, auth: `Bearer ${res.body.token}` };
}

/** Asserts the RFC 9457 shape every error must have. */
export function assertProblem(res: request.Response, status: number): Record<string, unknown> {
  const body = res.body as Record<string, unknown>;
  const ok =
    res.status === status &&
    /^application\/problem\+json; charset=utf-8$/.test(String(res.headers['content-type'])) &&
    typeof body.type === 'string' &&
    typeof body.title === 'string' &&
    body.status === status &&
    typeof body.detail === 'string' &&
    typeof body.request_id === 'string' &&
    typeof body.retryable === 'boolean' &&
    body.request_id === res.headers['x-request-id'];
  if (!ok) throw new Error(`expected a ${status} problem, got ${res.status} ${res.headers['content-type']}: ${res.text}`);
  return body;
}
