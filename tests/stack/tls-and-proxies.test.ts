import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import https from 'node:https';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { extraNginx, type ExtraNginx } from '../helpers/nginx';
import { stack } from '../helpers/stack';

const run = promisify(execFile);

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; body: string };

/** An HTTPS request to a stack with the local certificate, from a chosen local address. */
function request(
  base: string,
  p: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; from?: string } = {},
): Promise<Answer> {
  const url = new URL(p, base);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: init.method ?? 'GET',
        headers: init.headers,
        rejectUnauthorized: false,
        localAddress: init.from,
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Whether a TLS 1.2 handshake with only this cipher succeeds. */
async function handshake(cipher: string): Promise<boolean> {
  const { port } = new URL(stack.https);
  // No input: s_client says what was agreed and ends.
  return run('bash', ['-c', 'openssl s_client -connect "127.0.0.1:$1" -tls1_2 -cipher "$2" </dev/null', 's_client', port, cipher], {
    timeout: 5_000,
  }).then(
    (r) => /Cipher is (?!\(NONE\))/.test(r.stdout),
    () => false,
  );
}

describe('TLS and the session cookie over HTTPS', () => {
  it('when a client offers only CBC or SHA-1 suites, then the handshake fails; forward-secret AEAD suites succeed', async () => {
    for (const weak of ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA', 'ECDHE-ECDSA-AES128-SHA256', 'AES128-SHA']) {
      assert.equal(await handshake(weak), false, weak);
    }
    for (const good of ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305']) assert.equal(await handshake(good), true, good);
  });

  it('when a browser signs up over HTTPS, then its session cookie is __Host-sid (Secure, Path=/, no Domain), and only that name counts there', async () => {
    const email = `tls-${randomUUID()}@example.test`;
    const signUp = await request(stack.https, '/api/users', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'correct horse battery staple' }),
    });
    assert.equal(signUp.status, 201, signUp.body);
    const set = ([] as string[]).concat(signUp.headers['set-cookie'] ?? []).find((c) => c.includes('sid='));
    assert.ok(set, 'a session cookie');
    assert.match(set, /^__Host-sid=[^;]+; /);
    assert.match(set, /; Path=\//);
    assert.match(set, /; Secure/);
    assert.match(set, /; HttpOnly/);
    assert.doesNotMatch(set, /Domain=/i);
    const value = set.split(';')[0]!.slice('__Host-sid='.length);
    assert.equal((await request(stack.https, '/api/session', { headers: { cookie: `__Host-sid=${value}` } })).status, 200);
    assert.equal(
      (await request(stack.https, '/api/session', { headers: { cookie: `sid=${value}` } })).status,
      401,
      'not under the plain name',
    );
    // nginx's public cache passes it by, as it does the plain cookie.
    const page = await request(stack.https, '/u/nobody-here', { headers: { cookie: `__Host-sid=${value}` } });
    assert.equal(page.headers['x-cache-status'], 'BYPASS');
  });
});

describe('a proxy in front, and plain HTTP sent to HTTPS (settings of the run command)', () => {
  let edge: ExtraNginx;
  before(async () => {
    edge = await extraNginx({ HTTPS_REDIRECT: '1', TRUSTED_PROXIES: '127.0.0.2', NGINX_LIMIT_EXEMPT: '' });
  });
  after(async () => {
    await edge?.stop();
  });

  it('when HTTPS_REDIRECT is on, then plain HTTP is answered with a redirect to the same path over HTTPS', async () => {
    const res = await fetch(`${edge.http}/api/todos?limit=3`, { redirect: 'manual' });
    assert.equal(res.status, 308);
    assert.equal(res.headers.get('location'), `${edge.https}/api/todos?limit=3`);
  });

  it('when TRUSTED_PROXIES names a proxy, then X-Forwarded-For from it gives the client address, and from anyone else it is ignored', async () => {
    const tag = randomUUID();
    await request(edge.https, `/health?${tag}-proxy`, { from: '127.0.0.2', headers: { 'x-forwarded-for': '203.0.113.9' } });
    await request(edge.https, `/health?${tag}-other`, { from: '127.0.0.3', headers: { 'x-forwarded-for': '203.0.113.9' } });
    const lines = (await edge.accessLog()).filter((l) => String(l.uri).includes(tag));
    assert.equal(lines.find((l) => String(l.uri).endsWith('-proxy'))?.remote, '203.0.113.9');
    assert.equal(lines.find((l) => String(l.uri).endsWith('-other'))?.remote, '127.0.0.3');
  });
});
