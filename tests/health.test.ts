import assert from 'node:assert/strict';
import net from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import request from 'supertest';
import { buildApp } from '../app/app';
import { createLogger } from '../app/log';
import { assertProblem, startApp, tokenUser, type TestApp } from './helpers/app';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function assertRetryAfter(res: request.Response): void {
  const value = String(res.headers['retry-after']);
  assert.match(value, /^[1-9]\d*$/, `Retry-After should be whole seconds, got ${value}`);
}

/** A 503 that says what to do and gives nothing of the internals away. */
function assertUnavailable(res: request.Response): void {
  const body = assertProblem(res, 503);
  assert.equal(body.retryable, true);
  assert.equal(body.type, '/problems/dependency-unavailable');
  assertRetryAfter(res);
  assert.doesNotMatch(res.text, /ECONNREFUSED|127\.0\.0\.1|timeout exceeded|SELECT|FROM|stack|\bat .+:\d+/i);
}

describe('health and readiness', () => {
  let t: TestApp;
  before(async () => {
    t = await startApp();
  });
  after(() => t.close());

  it('when the process serves, then GET /health is 200 {"ok":true} and never cached', async () => {
    const res = await t.http().get('/health').expect(200);
    assert.deepEqual(res.body, { ok: true });
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.match(String(res.headers['content-type']), /^application\/json; charset=utf-8$/);
  });

  it('when PostgreSQL and Redis answer, then GET /health/ready is 200 with both up', async () => {
    const res = await t.http().get('/health/ready').expect(200);
    assert.deepEqual(res.body, { ok: true, postgres: 'up', redis: 'up' });
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['retry-after'], undefined);
  });

  it('when a request carries no X-Request-Id, then every response gets a fresh one, errors repeat it in the body', async () => {
    const u = await tokenUser(t);
    const responses = await Promise.all([
      t.http().get('/health').expect(200),
      t.http().get('/health/ready').expect(200),
      t.http().get('/api/todos').expect(401),
      t.http().get('/nowhere').expect(404),
      t.http().post('/api/todos').set('Authorization', u.auth).send({ content: 'x' }).expect(201),
      t.http().post('/api/todos').set('Authorization', u.auth).set('Content-Type', 'application/json').send('{').expect(400),
    ]);
    const ids = responses.map((r) => String(r.headers['x-request-id']));
    for (const id of ids) assert.match(id, UUID);
    assert.equal(new Set(ids).size, ids.length, 'request ids must not repeat');
    for (const res of responses.filter((r) => r.status >= 400)) assert.equal(res.body.request_id, res.headers['x-request-id']);
  });

  it('when a valid X-Request-Id is given, then it is echoed back, also in the problem body', async () => {
    for (const id of ['nginx-req-0001', 'a1b2c3d4e5f60718293a4b5c6d7e8f90', `${'A'.repeat(64)}.${'z'.repeat(63)}`]) {
      assert.equal((await t.http().get('/health').set('X-Request-Id', id).expect(200)).headers['x-request-id'], id);
      const res = await t.http().get('/api/me').set('X-Request-Id', id).expect(401);
      assert.equal(res.headers['x-request-id'], id);
      assert.equal(assertProblem(res, 401).request_id, id);
    }
  });

  it('when the given X-Request-Id is unsafe or too long, then a generated one replaces it', async () => {
    // A raw line break cannot be sent through an HTTP client; see the next test.
    for (const bad of [
      'bad id',
      'bad\tid',
      'x'.repeat(500),
      'short',
      'id<script>x</script>',
      'id"quoted"1',
      '\xe9\xe9\xe9\xe9\xe9\xe9\xe9\xe9',
      '',
    ]) {
      const res = await t.http().get('/api/me').set('X-Request-Id', bad).expect(401);
      const id = String(res.headers['x-request-id']);
      assert.notEqual(id, bad);
      assert.match(id, UUID, `for ${JSON.stringify(bad)}`);
      assert.equal(res.body.request_id, id);
    }
  });

  it('when the X-Request-Id holds a raw line break, then the request is refused and the id never echoed', async () => {
    const port = Number(new URL(t.url).port);
    const raw = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: bad id\n\r\nConnection: close\r\n\r\n';
    const reply = await new Promise<string>((ok, fail) => {
      let text = '';
      const s = net.connect(port, '127.0.0.1', () => s.end(raw));
      s.on('data', (d) => {
        text += String(d);
      })
        .on('close', () => ok(text))
        .on('error', fail);
    });
    assert.match(reply, /^HTTP\/1\.1 400 /);
    assert.doesNotMatch(reply, /bad id/);
  });

  it('when a request is served, then its log lines carry the same request id as the response', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write: (chunk, _enc, done) => {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const app = buildApp({ ...t.deps, log: createLogger('info', sink) });
    await request(app).post('/nowhere').set('X-Request-Id', 'trace-me-12345').expect(404);
    assert.ok(lines.length > 0, 'nothing was logged');
    for (const line of lines) assert.equal(line.request_id, 'trace-me-12345', JSON.stringify(line));
  });

  it('when a read succeeds, then the app writes no line for it (nginx logs every request)', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write: (chunk, _enc, done) => {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const app = buildApp({ ...t.deps, log: createLogger('info', sink) });
    await request(app).get('/health').set('X-Request-Id', 'quiet-read-12345').expect(200);
    await request(app).post('/api/todos').set('X-Request-Id', 'loud-write-12345').send({}).expect(401);
    assert.deepEqual(
      lines.map((l) => l.request_id),
      ['loud-write-12345'],
    );
  });

  it('when the process is shutting down, then readiness is 503 while liveness stays 200', async () => {
    t.deps.lifecycle.shuttingDown = true;
    try {
      const res = await t.http().get('/health/ready').expect(503);
      assert.deepEqual(res.body, { ok: false, postgres: 'up', redis: 'up', shutting_down: true });
      assertRetryAfter(res);
      await t.http().get('/health').expect(200);
    } finally {
      t.deps.lifecycle.shuttingDown = false;
    }
    await t.http().get('/health/ready').expect(200);
  });

  it('when Redis goes away, then readiness is 503 naming redis, and todos are still served from PostgreSQL', async () => {
    const down = await startApp();
    try {
      down.deps.redis.disconnect();
      const started = Date.now();
      const res = await down.http().get('/health/ready').expect(503);
      assert.ok(Date.now() - started < 2_000, 'readiness must not hang on a dead dependency');
      assert.deepEqual(res.body, { ok: false, postgres: 'up', redis: 'down' });
      assertRetryAfter(res);
      await down.http().get('/health').expect(200);

      const u = await tokenUser(down);
      const created = await down.http().post('/api/todos').set('Authorization', u.auth).send({ content: 'no redis' }).expect(201);
      const list = await down.http().get('/api/todos').set('Authorization', u.auth).expect(200);
      assert.equal(list.body.data[0].id, created.body.id);
    } finally {
      await down.close();
    }
  });

  it('when PostgreSQL refuses connections, then API calls are 503 problems with Retry-After and readiness names postgres', async () => {
    const u = await tokenUser(t);
    const refused = new pg.Pool({ host: '127.0.0.1', port: 1, user: 'todo', database: 'todo', connectionTimeoutMillis: 500 });
    const app = buildApp({ ...t.deps, db: refused });
    try {
      assertUnavailable(await request(app).get('/api/todos').set('Authorization', u.auth));
      assertUnavailable(await request(app).post('/api/todos').set('Authorization', u.auth).send({ content: 'lost?' }));
      assertUnavailable(await request(app).get('/api/me').set('Cookie', u.cookie));
      assertUnavailable(await request(app).post('/api/session').send({ email: u.email, password: u.password }));

      await request(app).get('/health').expect(200);
      const ready = await request(app).get('/health/ready').expect(503);
      assert.deepEqual(ready.body, { ok: false, postgres: 'down', redis: 'up' });
      assertRetryAfter(ready);
    } finally {
      await refused.end();
    }
    // The real database is untouched: the same token still works on the healthy app.
    await t.http().get('/api/todos').set('Authorization', u.auth).expect(200);
  });

  it('when PostgreSQL accepts connections but never answers, then requests fail fast with 503 instead of hanging', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => {
      sockets.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
    const port = (silent.address() as net.AddressInfo).port;
    const hung = new pg.Pool({ host: '127.0.0.1', port, user: 'todo', database: 'todo', connectionTimeoutMillis: 300 });
    const app = buildApp({ ...t.deps, db: hung });
    const u = await tokenUser(t);
    try {
      const started = Date.now();
      assertUnavailable(await request(app).get('/api/todos').set('Authorization', u.auth));
      const ready = await request(app).get('/health/ready').expect(503);
      assert.deepEqual(ready.body, { ok: false, postgres: 'down', redis: 'up' });
      assert.ok(Date.now() - started < 3_000, `took ${Date.now() - started} ms`);
    } finally {
      await hung.end();
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => silent.close(() => ok()));
    }
  });
});
