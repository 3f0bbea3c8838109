import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import http2 from 'node:http2';
import path from 'node:path';
import { promisify } from 'node:util';
import { before, describe, it } from 'node:test';
import request from 'supertest';
import { nginxContract } from '../../app/nginx-contract';
import { sleep, stack, stackUser } from '../helpers/stack';

const api = () => request(stack.http);

/** A GET from another local address than 127.0.0.1, i.e. a non-loopback-allowed client. */
function getFrom(
  localAddress: string,
  urlPath: string,
  headers: Record<string, string> = {},
  base = stack.http,
): Promise<{ status: number; body: string }> {
  const url = new URL(urlPath, base);
  return new Promise((resolve, reject) => {
    http
      .get({ host: url.hostname, port: url.port, path: url.pathname, localAddress, headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

describe('nginx in front of the PM2 cluster', () => {
  let auth: string;
  before(async () => {
    ({ auth } = await stackUser());
  });

  it('when the rendered config is tested, then nginx -t passes', async () => {
    const conf = path.join(stack.dir, 'nginx', 'nginx.conf');
    const { stderr } = await promisify(execFile)('nginx', ['-t', '-c', conf, '-p', stack.dir]);
    assert.match(stderr, /test is successful/);
  });

  it("when the config is rendered, then the values the app relies on are the contract's", async () => {
    const conf = (f: string) => readFile(path.join(stack.dir, 'nginx', f), 'utf8');
    const { bodyLimitBytes, privateCopyInactiveSeconds, upstreamKeepaliveSeconds, tokenPattern } = nginxContract;
    assert.match(await conf('snippets/client-limits.conf'), new RegExp(`client_max_body_size ${bodyLimitBytes};`));
    assert.match(await conf('snippets/private-cache-zone.conf'), new RegExp(`inactive=${privateCopyInactiveSeconds}s`));
    assert.match(await conf('nginx.conf'), new RegExp(`keepalive_timeout ${upstreamKeepaliveSeconds}s;`));
    assert.ok((await conf('edge-credential.js')).includes(`/^Bearer (${tokenPattern})$/`));
    // And nginx acts on them: one byte over the limit is refused by nginx itself.
    const res = await fetch(`${stack.http}/api/todos`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'x'.repeat(bodyLimitBytes) }),
    });
    assert.equal(res.status, 413);
    assert.match(await res.text(), new RegExp(`at most ${bodyLimitBytes} bytes`));
  });

  it('when a client uses the API through nginx, then it works and the request id reaches the app log', async () => {
    const created = await api().post('/api/todos').set('Authorization', auth).send({ content: 'through nginx' }).expect(201);
    const id = String(created.headers['x-request-id']);
    assert.match(id, /^[0-9a-f]{32}$/);
    const list = await api().get('/api/todos').set('Authorization', auth).expect(200);
    assert.equal(list.body.data[0].content, 'through nginx');
    // The app logs asynchronously; give the log file a moment.
    let log = '';
    for (let i = 0; i < 20 && !log.includes(id); i++) {
      await sleep(100);
      log = await readFile(path.join(stack.logs, 'api.log'), 'utf8');
    }
    const line = log.split('\n').find((l) => l.includes(id));
    assert.ok(line, `request id ${id} not in the app log`);
    assert.equal(JSON.parse(line).request_id, id);
  });

  it('when a client accepts gzip, then JSON responses are compressed', async () => {
    for (let i = 0; i < 12; i++)
      await api()
        .post('/api/todos')
        .set('Authorization', auth)
        .send({ content: `padding todo number ${i} `.repeat(4) });
    const res = await api().get('/api/todos?limit=12').set('Authorization', auth).set('Accept-Encoding', 'gzip').expect(200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.body.data.length, 12);
  });

  it('when static files are fetched, then hashed assets are cached for a year and index.html is revalidated', async () => {
    const page = await api().get('/').expect(200);
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.ok(page.headers['x-request-id']);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    const assets = [...page.text.matchAll(/"(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(assets.length >= 2, 'index.html names its assets');
    for (const asset of assets) {
      assert.match(asset, /-[A-Z0-9]{8}\.(js|css)$/);
      const res = await api().get(asset).expect(200);
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
      assert.ok(res.headers['x-request-id']);
    }
    const missing = await api().get('/assets/nothing-here.js').expect(404);
    assert.equal(missing.headers['content-type'], 'application/problem+json; charset=utf-8');
  });

  it('when a JSON body of 17 KiB is sent, then nginx refuses it with a 413 problem', async () => {
    const res = await api()
      .post('/api/todos')
      .set('Authorization', auth)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ content: 'x'.repeat(17 * 1024) }))
      .expect(413);
    assert.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    const body = JSON.parse(res.text) as { status: number; request_id: string; retryable: boolean };
    assert.equal(body.status, 413);
    assert.equal(body.retryable, false);
    assert.equal(body.request_id, res.headers['x-request-id']);
  });

  it('when /metrics is asked on the internal listener, then it shows every worker; from another address it is 403; the public site has no /metrics', async () => {
    // The test stack's two API workers and its job worker.
    const every = /metrics_workers_reporting 3/;
    let text = '';
    for (let i = 0; i < 60 && !every.test(text); i++) {
      text = (await request(stack.internal).get('/metrics').expect(200)).text;
      if (!every.test(text)) await sleep(250);
    }
    assert.match(text, every);
    assert.match(text, /http_request_duration_seconds_bucket/);
    const direct = await getFrom('127.0.0.2', '/metrics', {}, stack.internal);
    assert.equal(direct.status, 403);
    assert.doesNotMatch(direct.body, /http_request_duration/);
    const spoofed = await getFrom('127.0.0.2', '/metrics', { 'X-Forwarded-For': '127.0.0.1', 'X-Real-IP': '127.0.0.1' }, stack.internal);
    assert.equal(spoofed.status, 403);
    // The site users reach has none of it, from loopback either.
    const pub = await api().get('/metrics');
    assert.equal(pub.status, 404);
    assert.doesNotMatch(pub.text, /http_request_duration/);
  });

  it('when the API is reached over HTTPS, then it speaks HTTP/2 and sends HSTS, which plain HTTP does not', async () => {
    const plain = await api().get('/health').expect(200);
    assert.equal(plain.headers['strict-transport-security'], undefined);
    const session = http2.connect(stack.https, { rejectUnauthorized: false });
    try {
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const req = session.request({ ':path': '/health' });
        req.on('response', resolve);
        req.on('error', reject);
        req.end();
      });
      assert.equal(headers[':status'], 200);
      assert.match(String(headers['strict-transport-security']), /max-age=31536000/);
    } finally {
      session.close();
    }
  });

  it('when a response is proxied, then the security headers appear once and nginx does not announce its version', async () => {
    const res = await api().get('/api/todos').set('Authorization', auth).expect(200);
    assert.equal(res.headers.server, 'nginx');
    assert.equal(typeof res.headers['x-content-type-options'], 'string');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.equal(typeof res.headers['content-security-policy'], 'string');
  });
});
