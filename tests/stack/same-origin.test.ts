import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { describe, it } from 'node:test';
import { stack, stackSession } from '../helpers/stack';

type Sent = { status: number; type: string };

/** A log-in over plain HTTP/1.1 through nginx, with the headers a browser would add. */
function overHttp(body: string, headers: Record<string, string>): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${stack.http}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, type: (JSON.parse(text) as { type?: string }).type ?? '' }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The same over HTTPS and HTTP/2, as browsers reach the TLS port (Host comes as :authority). */
async function overHttps(body: string, headers: Record<string, string>): Promise<Sent> {
  const session = http2.connect(stack.https, { rejectUnauthorized: false });
  try {
    return await new Promise<Sent>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': '/api/session', 'content-type': 'application/json', ...headers });
      let status = 0;
      let text = '';
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (chunk: Buffer) => (text += chunk.toString()));
      req.on('end', () => resolve({ status, type: (JSON.parse(text) as { type?: string }).type ?? '' }));
      req.on('error', reject);
      req.end(body);
    });
  } finally {
    session.close();
  }
}

describe("log-in through nginx: the page's own origin only", () => {
  it("when a browser logs in on the http or the https port with its page's Origin, then 201; an Origin of the other port or of a host a client names is 403", async () => {
    const u = await stackSession();
    const body = JSON.stringify({ email: u.email, password: u.password });
    const browser = (origin: string) => ({ origin, 'sec-fetch-site': 'same-origin' });

    assert.equal((await overHttp(body, browser(stack.http))).status, 201, `http page on ${stack.http}`);
    assert.equal((await overHttps(body, browser(stack.https))).status, 201, `https page on ${stack.https}`);

    const refused = [
      await overHttp(body, { origin: stack.https }),
      await overHttps(body, { origin: stack.http }),
      await overHttp(body, { origin: 'http://evil.example', 'x-forwarded-host': 'evil.example' }),
    ];
    assert.deepEqual(
      refused.map((r) => [r.status, r.type]),
      Array(3).fill([403, '/problems/cross-site']),
    );
  });
});
