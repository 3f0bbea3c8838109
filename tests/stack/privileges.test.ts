import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { readStackEnv } from '../../scripts/stack-env';
import { pm2, stack } from '../helpers/stack';

// Run as root, the run command runs every service as an unprivileged system
// user (SERVICE_USER in stack.env); run as anyone else, as that user. Only
// nginx's master and PM2's daemon stay root. Secrets, logs and Redis's files
// are for their owners only.

const run = promisify(execFile);
const LIB = path.join(__dirname, '..', '..', 'scripts', 'lib.sh');
const lib = (fn: string, ...args: string[]) => run('bash', ['-c', `source "${LIB}" && ${fn} "$@"`, fn, ...args]);
const asRoot = process.getuid!() === 0;
const env = readStackEnv(path.join(stack.dir, 'stack.env'));
const expectedUser = asRoot ? (env.SERVICE_USER ?? 'todo-stack') : os.userInfo().username;

type Ids = { uid: number; gid: number; groups: number[] };

/** Real, effective, saved and file-system ids of a process, which must all agree, and its supplementary groups. */
async function idsOf(pid: number): Promise<Ids> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const all = (name: string) => (new RegExp(`^${name}:(.*)$`, 'm').exec(status)?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
  const uids = all('Uid');
  const gids = all('Gid');
  assert.equal(new Set(uids).size, 1, `process ${pid} has mixed uids ${uids.join(' ')}`);
  assert.equal(new Set(gids).size, 1, `process ${pid} has mixed gids ${gids.join(' ')}`);
  return { uid: uids[0]!, gid: gids[0]!, groups: all('Groups') };
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

async function assertRunsAsServiceUser(what: string, pid: number): Promise<void> {
  const want = await userIds(expectedUser);
  const ids = await idsOf(pid);
  assert.deepEqual({ uid: ids.uid, gid: ids.gid }, want, `${what} (pid ${pid}) runs as uid ${ids.uid}, gid ${ids.gid}`);
  if (asRoot) assert.ok(!ids.groups.includes(0), `${what} (pid ${pid}) keeps root's group: ${ids.groups.join(' ')}`);
}

/** The pid and folder of a running Redis, asked of the server itself. */
async function redisServer(url: string): Promise<{ pid: number; dir: string }> {
  const redis = new Redis(url);
  try {
    const info = await redis.info('server');
    const [, dir] = (await redis.config('GET', 'dir')) as [string, string];
    return { pid: Number(/^process_id:(\d+)/m.exec(info)![1]), dir };
  } finally {
    redis.disconnect();
  }
}

async function assertForOwnerOnly(file: string): Promise<void> {
  const { mode } = await stat(file);
  assert.equal(mode & 0o007, 0, `${file} is open to others: ${(mode & 0o777).toString(8)}`);
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });

describe('the services run unprivileged', () => {
  it('when the stack runs, then the service user is set as the run command says', () => {
    if (asRoot) assert.ok(env.SERVICE_USER && env.SERVICE_USER !== 'root', 'stack.env names a service user other than root');
    assert.ok(expectedUser);
  });

  it("when the stack runs, then every PM2 app's processes, both Redis servers and nginx's workers run as the service user", async () => {
    const apps = (JSON.parse(await pm2('jlist')) as Array<{ name: string; pid: number; pm2_env: { status: string } }>).filter(
      (p) => p.pm2_env.status === 'online',
    );
    assert.ok(apps.filter((a) => a.name === 'todo-api').length >= 2, 'the API workers run');
    assert.ok(
      apps.some((a) => a.name === 'todo-jobs'),
      'the job worker runs',
    );
    for (const app of apps) await assertRunsAsServiceUser(`PM2 app ${app.name}`, app.pid);

    for (const url of [process.env.REDIS_URL!, process.env.CACHE_REDIS_URL!]) {
      const { pid } = await redisServer(url);
      await assertRunsAsServiceUser(`Redis on ${new URL(url).port}`, pid);
    }

    const master = (await readFile(path.join(stack.dir, 'nginx.pid'), 'utf8')).trim();
    const workers = (await run('ps', ['-o', 'pid=', '--ppid', master])).stdout.split('\n').filter((l) => l.trim());
    assert.ok(workers.length >= 1, "nginx's workers run");
    for (const pid of workers) await assertRunsAsServiceUser("nginx's worker", Number(pid));
  });

  it('when the stack runs, then its secrets, its logs and the files of both Redis servers are closed to others', async () => {
    const redisDirs = await Promise.all(
      [process.env.REDIS_URL!, process.env.CACHE_REDIS_URL!].map(async (u) => (await redisServer(u)).dir),
    );
    const pgDir = (await lib('pg_datadir', process.env.TEST_PG_DIR!)).stdout.trim();
    const rootSecrets = [
      path.join(stack.dir, 'stack.env'),
      path.join(stack.dir, 'cache-signing-key'),
      path.join(stack.dir, 'tls', 'key.pem'),
      path.join(pgDir, '..', 'pg-password'),
    ];
    const redisFiles = redisDirs.flatMap((d) => ['redis-password', 'redis.conf', 'redis.log'].map((f) => path.join(d, f)));
    const logDir = env.LOG_DIR!;
    const logs = (await readdir(logDir)).map((f) => path.join(logDir, f));
    assert.ok(logs.some((f) => f.endsWith('api.log')) && logs.some((f) => f.endsWith('nginx-access.log')), `logs in ${logDir}`);
    const otherLogs = [path.join(process.env.PM2_HOME!, 'pm2.log'), `${pgDir}.initdb.log`, path.join(pgDir, 'server.log')];
    for (const file of [...rootSecrets, ...redisFiles, ...logs, ...otherLogs]) await assertForOwnerOnly(file);

    // The workers get their settings from PM2; the files holding them stay root's.
    if (asRoot) {
      for (const secret of rootSecrets) {
        await assert.rejects(run('runuser', ['-u', expectedUser, '--', 'test', '-r', secret]), `${expectedUser} can read ${secret}`);
      }
    }
  });
});

describe('a durable Redis, as the run command starts it', () => {
  let dir: string;
  let port: string;
  after(async () => {
    await lib('stop_redis', dir, port).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('when it has written its append-only file, then that file is the service user’s and closed to others', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'todo-aof-'));
    port = String(await freePort());
    const url = (await lib('start_redis', dir, port, 'durable')).stdout.trim();
    const redis = new Redis(url);
    await redis.set('privileges-test', 'x');
    const [, aofDir] = (await redis.config('GET', 'appenddirname')) as [string, string];
    const { pid, dir: dataDir } = await redisServer(url);
    redis.disconnect();
    await assertRunsAsServiceUser('the durable Redis', pid);

    const aof = path.join(dataDir, aofDir);
    const files = await readdir(aof);
    assert.ok(
      files.some((f) => f.includes('.aof')),
      `an append-only file in ${aof}`,
    );
    const want = await userIds(expectedUser);
    for (const file of [aof, ...files.map((f) => path.join(aof, f))]) {
      const s = await stat(file);
      assert.equal(s.uid, want.uid, `${file} belongs to uid ${s.uid}`);
      await assertForOwnerOnly(file);
    }
  });
});
