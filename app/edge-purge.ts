import http from 'node:http';
import type { Logger } from './log';
import type { PurgeOutcome } from './metrics';

// A client for nginx's cache purge endpoints (nginx/sites/todo-stack.conf).
// It knows paths, not features: what to purge, and when, is edge.ts's.

const TIMEOUT_MS = 500;

/** Drops nginx's copy under a purge path; never throws (a failed purge is logged). */
export type Purge = (path: string) => Promise<void>;

export function createPurge(baseUrl: string, log: Logger, count: (outcome: PurgeOutcome) => void = () => undefined): Purge {
  const base = new URL(baseUrl);
  // Keep-alive: a write purges several keys, and new connections cost more
  // than the purges themselves.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

  // node:http sends the path byte for byte; fetch would re-encode the query
  // and miss nginx's key.
  const send = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.get(
        {
          host: base.hostname,
          port: base.port,
          path: `${base.pathname}${path}`,
          agent,
          timeout: TIMEOUT_MS,
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
    });

  return async (path) => {
    try {
      const status = await send(path);
      // 404: nothing was cached under that key, which is fine.
      count(status === 200 ? 'ok' : status === 404 ? 'absent' : 'refused');
      if (status !== 200 && status !== 404) log.warn({ path, status }, 'edge purge refused');
    } catch (err) {
      count('failed');
      log.warn({ path, err: (err as Error).message }, 'edge purge failed');
    }
  };
}
