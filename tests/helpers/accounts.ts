import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import type request from 'supertest';
import { sessionCookie, type SessionUser, type TestApp } from './app';

/** ISO 8601 UTC with milliseconds, as every time in the API is written. */
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const JSON_UTF8 = /^application\/json; charset=utf-8$/;

export const PASSWORD = 'correct horse battery';

/**
 * A client address no other test uses (in 10.0.0.0/8), for an app that trusts
 * one proxy hop (TRUST_PROXY_HOPS=1) and so counts X-Forwarded-For: limits
 * per client then never meet another test's counters.
 */
export function uniqueClientIp(): string {
  const n = randomInt(2 ** 24);
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** A public slug no other test uses: 3–40 of a-z0-9-. */
export const uniqueSlug = (tag = 'list') => `${tag}-${randomUUID().slice(0, 13)}`;

/** The sid Set-Cookie line split into its value and lower-cased attributes. */
export function sidCookieOf(res: request.Response): { value: string; attrs: Map<string, string> } {
  const raw = res.headers['set-cookie'] as string[] | string | undefined;
  const lines = Array.isArray(raw) ? raw : raw ? [raw] : [];
  // `__Host-sid` over HTTPS, `sid` over plain HTTP (app/accounts/auth.ts).
  const line = lines.find((c) => /^(__Host-)?sid=/.test(c));
  assert.ok(line, `expected a sid cookie, got ${JSON.stringify(raw)}`);
  const [pair, ...rest] = line.split(';').map((s) => s.trim());
  const attrs = new Map(
    rest.map((a) => {
      const [k, ...v] = a.split('=');
      return [k!.toLowerCase(), v.join('=')] as [string, string];
    }),
  );
  return { value: pair!.slice(pair!.indexOf('=') + 1), attrs };
}

/** Asserts a public user: exactly id, email, public_slug and created_at, never a password hash. */
export function assertPublicUser(user: unknown, expected: { email?: string; id?: string; public_slug?: string | null } = {}): void {
  assert.ok(user && typeof user === 'object', `expected a user object, got ${JSON.stringify(user)}`);
  const u = user as Record<string, unknown>;
  assert.deepEqual(Object.keys(u).sort(), ['created_at', 'email', 'id', 'public_slug']);
  assert.match(String(u.id), UUID);
  assert.match(String(u.created_at), ISO_MS);
  assert.ok(u.public_slug === null || typeof u.public_slug === 'string');
  if (expected.id !== undefined) assert.equal(u.id, expected.id);
  if (expected.email !== undefined) assert.equal(u.email, expected.email);
  if (expected.public_slug !== undefined) assert.equal(u.public_slug, expected.public_slug);
}

/** Logs in through the API; returns the new session like signUp does. */
export async function logIn(t: TestApp, email: string, password = PASSWORD): Promise<SessionUser> {
  const res = await t.http().post('/api/session').send({ email, password }).expect(201);
  return { id: res.body.user.id, email, password, cookie: sessionCookie(res.headers['set-cookie']), csrf: res.body.csrf_token };
}

/** Whether a session cookie still authenticates: 200 from GET /api/session, or 401. */
export async function sessionStatus(t: TestApp, cookie: string): Promise<number> {
  const res = await t.http().get('/api/session').set('Cookie', cookie);
  assert.ok(res.status === 200 || res.status === 401, `unexpected ${res.status}: ${res.text}`);
  return res.status;
}

/** The field names of a validation problem's errors[]. */
export function errorFields(body: Record<string, unknown>): string[] {
  const errors = body.errors;
  assert.ok(Array.isArray(errors) && errors.length > 0, `expected errors[], got ${JSON.stringify(body)}`);
  for (const e of errors as Record<string, unknown>[]) {
    assert.equal(typeof e.field, 'string');
    assert.equal(typeof e.message, 'string');
    assert.ok(typeof e.expected === 'string' && e.expected.length > 0, `expected an "expected" in ${JSON.stringify(e)}`);
  }
  return (errors as { field: string }[]).map((e) => e.field);
}

/**
 * Every value a user's rows hold in a table, as text and as raw bytes, to
 * check that a secret is not stored in any recognisable form.
 */
export async function storedValues(t: TestApp, table: 'sessions' | 'api_tokens', userId: string): Promise<unknown[][]> {
  const { rows } = await t.deps.db.query<Record<string, unknown>>(`SELECT * FROM ${table} WHERE user_id = $1`, [userId]);
  return rows.map((r) => Object.values(r));
}

export function holdsSecret(value: unknown, secret: string): boolean {
  if (Buffer.isBuffer(value)) {
    // The secret's text as bytes, or its random bytes decoded (with or without a prefix).
    const encodings = (['base64url', 'base64', 'hex'] as const).map((e) => value.toString(e));
    return value.includes(Buffer.from(secret)) || (value.length >= 16 && encodings.some((s) => secret.includes(s)));
  }
  return typeof value === 'string' && value.includes(secret);
}
