// PM2 process file: `npx pm2 start|reload ecosystem.config.js` from this folder.
// The run command (npm start) writes the stack's settings to .data/run/stack.env;
// they are read here, so an admin's plain `pm2 reload` needs no environment.
const os = require('node:os');
const path = require('node:path');

const { readStackEnv } = require('./scripts/stack-env');
// The drain timings nginx and the app agree on (app/nginx-contract.ts).
const contract = require('./app/nginx-contract.json');

const checkout = __dirname;
const envFile = process.env.TODO_STACK_ENV || path.join(checkout, '.data', 'run', 'stack.env');
const stack = readStackEnv(envFile);
const setting = (name, fallback) => process.env[name] || stack[name] || fallback;
const logDir = setting('LOG_DIR', path.join(checkout, '.data', 'run', 'logs'));
// The apps run from the release the run command made: the build copied
// where the service user can read it (this checkout may be in /root), which
// a later build here does not change.
const root = setting('RELEASE_DIR', checkout);
// The Node.js the project pins (package.json), never the machine's. Cluster
// workers run on the PM2 daemon's Node.js, which the run command keeps equal
// to this one (scripts/stack.sh, ensure_pm2_node).
const interpreter = path.join(root, 'node_modules', '.bin', 'node');

module.exports = {
  apps: [
    {
      name: 'todo-api',
      script: path.join(root, 'dist', 'server.js'),
      cwd: root,
      exec_mode: 'cluster',
      interpreter,
      instances: Number(setting('WEB_CONCURRENCY', os.availableParallelism())),
      // A worker says 'ready' only once PostgreSQL and Redis answer. Measured
      // start to 'ready' here: 0.33-0.43 s; PM2 gives up after more than ten times that.
      wait_ready: true,
      listen_timeout: 5000,
      // Drain: answering with Connection: close while nginx lets go of its
      // pooled sockets (4.5 s; measured SIGINT to exit: 4.51 s when idle),
      // then up to 8 s for in-flight requests; the app exits by itself
      // before PM2 would kill it (15 s).
      kill_timeout: contract.killTimeoutMs,
      max_memory_restart: '300M',
      // V8 left to itself grew each worker's heap past 100 MB under the
      // benchmark's uncached reads and writes while ~30 MB stayed live.
      // Capping old space at 160 MB ended the same load at 138-148 MB RSS on
      // Node.js 20. Node.js 24 sizes the young generation larger: 233-235 MB
      // after uncached reads, creates and 1000 connections; with semi-spaces
      // capped at 8 MB, 131-139 MB (16 MB: 150-157 MB), at the same req/s in
      // side-by-side runs. Past the caps a worker would crash and be
      // restarted, as max_memory_restart does at 300 MB.
      node_args: ['--max-old-space-size=160', '--max-semi-space-size=8'],
      // A crash loop backs off from 100 ms up to 15 s instead of spinning.
      exp_backoff_restart_delay: 100,
      min_uptime: '5s',
      out_file: path.join(logDir, 'api.log'),
      error_file: path.join(logDir, 'api-error.log'),
      merge_logs: true,
      env: {
        ...stack,
        NODE_ENV: setting('NODE_ENV', 'production'),
        TRUST_PROXY_HOPS: '1',
        SHUTDOWN_DELAY_MS: String(contract.shutdownDelayMs),
      },
    },
    {
      // The job worker (BullMQ): imports and the scheduled clean-up. More
      // copies may run (here or on other hosts); they share the queue.
      name: 'todo-jobs',
      script: path.join(root, 'dist', 'worker.js'),
      cwd: root,
      exec_mode: 'fork',
      interpreter,
      instances: 1,
      // 'ready' once PostgreSQL and Redis answer and the queue workers listen.
      wait_ready: true,
      listen_timeout: 10000,
      // SIGINT: running imports stop after their current batch (well under a
      // second) and go back to the queue; the worker gives up waiting after
      // 8 s (app/worker.ts), before PM2 would kill it.
      kill_timeout: 10000,
      max_memory_restart: '300M',
      node_args: ['--max-old-space-size=160', '--max-semi-space-size=8'],
      exp_backoff_restart_delay: 100,
      min_uptime: '5s',
      out_file: path.join(logDir, 'jobs.log'),
      error_file: path.join(logDir, 'jobs-error.log'),
      merge_logs: true,
      env: {
        ...stack,
        NODE_ENV: setting('NODE_ENV', 'production'),
        JOB_CONCURRENCY: setting('JOB_CONCURRENCY', '2'),
      },
    },
  ],
};

// Run as root, the run command names an unprivileged system user in
// stack.env, and every app runs as it. PM2 switches a cluster worker with
// setgid and setuid alone, which would keep the daemon's supplementary
// groups (root's): the preload drops them while it still may.
if (stack.SERVICE_USER) {
  for (const app of module.exports.apps) {
    app.uid = stack.SERVICE_USER;
    app.node_args = [...(app.node_args ?? []), '--require', path.join(root, 'dist', 'pm2-preload.js')];
  }
}
