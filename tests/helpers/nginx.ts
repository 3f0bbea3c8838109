import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { readStackEnv } from '../../scripts/stack-env';
import { sleep, stack } from './stack';

const run = promisify(execFile);
const LIB = path.join(__dirname, '..', '..', 'scripts', 'lib.sh');

/** A loopback port nothing listens on at the moment (the kernel's pick). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export type ExtraNginx = {
  http: string;
  https: string;
  /** Its JSON access log, after the 1 s buffer has been flushed. */
  accessLog(): Promise<Array<Record<string, string | number>>>;
  stop(): Promise<void>;
};

/**
 * Another nginx in front of the test stack's workers, rendered by the run
 * command's own render_nginx with other settings of the run command (any
 * variable it reads, such as CORS_ORIGINS or APP_PORT), on free ports. Its
 * caches are its own: the app purges the test stack's nginx, not this one.
 */
export async function extraNginx(settings: Record<string, string>): Promise<ExtraNginx> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'todo-nginx-'));
  // nginx's workers (the service user) must reach the UI and their folders.
  await chmod(dir, 0o711);
  await mkdir(path.join(dir, 'web'));
  await writeFile(path.join(dir, 'web', 'index.html'), '<!doctype html>');
  const env = readStackEnv(path.join(stack.dir, 'stack.env'));
  const ports = { HTTP_PORT: await freePort(), HTTPS_PORT: await freePort(), INTERNAL_HTTP_PORT: await freePort() };
  const runDir = path.join(dir, 'run');
  await run('bash', ['-c', `source "${LIB}" && render_nginx "$1" && nginx -c "$1/nginx/nginx.conf" -p "$1"`, 'render', runDir], {
    env: {
      ...process.env,
      ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      APP_PORT: env.PORT!,
      APP_INTERNAL_PORT: env.INTERNAL_PORT!,
      STATIC_ROOT: path.join(dir, 'web'),
      LOG_DIR: path.join(dir, 'logs'),
      ...settings,
    },
  });
  return {
    http: `http://127.0.0.1:${ports.HTTP_PORT}`,
    https: `https://127.0.0.1:${ports.HTTPS_PORT}`,
    accessLog: async () => {
      await sleep(1_200);
      return (await readFile(path.join(dir, 'logs', 'nginx-access.log'), 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, string | number>);
    },
    stop: async () => {
      await run('nginx', ['-c', path.join(runDir, 'nginx', 'nginx.conf'), '-p', runDir, '-s', 'quit']).catch(() => undefined);
      await sleep(300);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
