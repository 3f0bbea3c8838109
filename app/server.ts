import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildApp, buildInternalApp } from './app';
import { checkRuntime, ConfigError, loadConfig } from './config';
import { closeDeps, openDeps, type Deps } from './deps';
import { createLogger } from './log';
import { startPublishing } from './metrics-merge';
import { nginxContract } from './nginx-contract';

// Node's defaults are tuned for direct clients; behind nginx the keep-alive
// must outlive nginx's upstream keepalive_timeout (app/nginx-contract.json),
// or nginx may reuse a socket that Node is closing and the client sees a 502.
const KEEP_ALIVE_MS = 65_000;
const HEADERS_TIMEOUT_MS = 66_000;
const REQUEST_TIMEOUT_MS = 30_000;
// Node's default (511) overflows when a thousand clients (or nginx opening
// its upstream pool) connect at once: the kernel drops the extra SYNs and the
// clients retry after one and three seconds. The kernel caps it at somaxconn.
const LISTEN_BACKLOG = 4096;

async function main(): Promise<void> {
  // A worker that anything older than package.json's "engines" started
  // refuses to run unsupported.
  const { engines } = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { engines: { node: string } };
  checkRuntime(process.version, engines.node);
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const deps = await openDeps(config, log);

  const server = http.createServer(buildApp(deps));
  // Metrics and other internal endpoints never share a listener with users.
  const internal = config.internalPort ? http.createServer(buildInternalApp(deps)) : undefined;
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, resolve);
  });
  if (internal) {
    await new Promise<void>((resolve, reject) => {
      internal.once('error', reject);
      internal.listen({ port: config.internalPort, host: config.host }, resolve);
    });
  }
  log.info({ host: config.host, port: config.port }, 'listening');
  const stopPublishing = startPublishing(deps.metrics, deps.redis, log);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining');
    stopPublishing();
    // The other workers answer scrapes meanwhile.
    internal?.close();
    internal?.closeAllConnections();
    void shutdown(server, deps).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'unclean shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // PM2 on Windows and some setups send a message instead of a signal.
  process.on('message', (msg) => msg === 'shutdown' && stop('shutdown message'));

  // PM2's wait_ready: only now, with PostgreSQL and Redis answering and the
  // signal handlers in place, may traffic (and the next worker's reload) go on.
  process.send?.('ready');
}

/**
 * Readiness fails and responses say Connection: close; after the shutdown
 * delay (nginx has let go of its idle sockets by then) stop accepting, let
 * in-flight requests finish, then close the pools.
 */
async function shutdown(server: http.Server, deps: Deps): Promise<void> {
  deps.lifecycle.shuttingDown = true;
  // Open event streams end now, so browsers reconnect to a worker that stays.
  for (const end of deps.lifecycle.longResponses) end();
  const hardExit = setTimeout(() => {
    deps.log.error('drain timed out; exiting with requests still open');
    process.exit(1);
    // In-flight requests get this long; with the shutdown delay it stays
    // below PM2's kill_timeout (app/nginx-contract.ts), so we exit on our own terms.
  }, deps.config.shutdownDelayMs + nginxContract.drainTimeoutMs);
  hardExit.unref();

  await sleep(deps.config.shutdownDelayMs);
  // close() closes the sockets idle right now and waits for the busy ones;
  // a busy one that goes idle afterwards is closed on the next sweep.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  const sweep = setInterval(() => server.closeIdleConnections(), 100);
  await closed;
  clearInterval(sweep);
  await closeDeps(deps);
  clearTimeout(hardExit);
  deps.log.info('stopped');
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) console.error(`todo-stack: ${err.message}`);
  else createLogger('info').fatal({ err }, 'failed to start');
  process.exit(1);
});
