// Loaded with --require into each PM2 app run as the service user
// (ecosystem.config.js), before PM2's own code. A cluster worker starts as
// root, as a fork of PM2's daemon, and PM2 then switches it with setgid and
// setuid alone: it would keep the daemon's supplementary groups (root's, for
// a daemon started from a login shell) and read what group root may. Drop
// them while the worker still may. A fork-mode app is started as the user
// already, with no groups, and this finds nothing to do.
const pm2Env = JSON.parse(process.env.pm2_env ?? '{}') as { uid?: number };
if (process.getuid?.() === 0 && pm2Env.uid) process.setgroups!([]);
