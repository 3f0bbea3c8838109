import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { describe, it } from 'node:test';
import { sleep } from '../helpers/stack';

const SERVER = path.resolve(__dirname, '../../dist/server.js');

/** One compiled worker, as PM2 runs it, on its own port. */
async function startWorker(port: number, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn(process.execPath, [SERVER], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(JSON.stringify(m)))));
    child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
  });
  return child;
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

async function bearerFor(base: string): Promise<string> {
  const email = `drain-${Date.now()}-${Math.random()}@example.test`;
  const res = await fetch(`${base}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery' }),
  });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { csrf_token } = (await res.json()) as { csrf_token: string };
  const tok = await fetch(`${base}/api/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrf_token },
    body: JSON.stringify({ name: 'drain' }),
  });
  return ((await tok.json()) as { token: string }).token;
}

describe('graceful shutdown of a worker', () => {
  it('when SIGINT arrives while a request is in flight, then that request completes with success and the worker exits 0', async () => {
    const port = 13_900 + Math.floor(Math.random() * 50);
    const worker = await startWorker(port);
    const token = await bearerFor(`http://127.0.0.1:${port}`);
    const body = JSON.stringify({ content: 'sent while the worker stops' });

    // Send the headers and half the body, so the request is in flight.
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let response = '';
    socket.on('data', (d: Buffer) => {
      response += d.toString();
    });
    const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(
      `POST /api/todos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
    );
    await sleep(200);

    const exit = exited(worker);
    worker.kill('SIGINT');
    await sleep(500);
    // write, not end: a client that half-closes is taken to have given up.
    socket.write(body.slice(10));
    await ended;

    assert.match(response, /^HTTP\/1\.1 201 /);
    assert.match(response, /sent while the worker stops/);
    assert.equal(await exit, 0);
  });

  it('when a worker drains with a shutdown delay, then readiness is 503 and responses close their connection until it stops listening', async () => {
    const port = 13_950 + Math.floor(Math.random() * 40);
    const worker = await startWorker(port, { SHUTDOWN_DELAY_MS: '1500' });
    const exit = exited(worker);
    worker.kill('SIGINT');
    await sleep(300);

    const ready = await fetch(`http://127.0.0.1:${port}/health/ready`);
    assert.equal(ready.status, 503);
    assert.equal(ready.headers.get('connection'), 'close');
    assert.equal(((await ready.json()) as { shutting_down: boolean }).shutting_down, true);
    const live = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(live.status, 200);

    assert.equal(await exit, 0);
    await assert.rejects(fetch(`http://127.0.0.1:${port}/health`));
  });
});
