import { readdirSync, readFileSync } from 'node:fs';

// CPU time per kind of process, read from /proc before and after a case.
export type Kind = 'wrk' | 'nginx' | 'node' | 'postgres' | 'redis';
const TICKS_PER_SECOND = 100;

function kindOf(pid: string): Kind | undefined {
  try {
    const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (comm === 'wrk') return 'wrk';
    if (comm === 'nginx') return 'nginx';
    if (comm === 'redis-server') return 'redis';
    if (comm === 'postgres') return 'postgres';
    if (comm === 'node' || comm.startsWith('node')) {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      return cmd.includes('dist/server.js') ? 'node' : undefined;
    }
  } catch {
    // The process ended while we looked.
  }
  return undefined;
}

function ticks(pid: string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

export type Snapshot = { at: number; byPid: Map<string, { kind: Kind; ticks: number }> };

export function snapshot(): Snapshot {
  const byPid = new Map<string, { kind: Kind; ticks: number }>();
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const kind = kindOf(pid);
    if (kind) byPid.set(pid, { kind, ticks: ticks(pid) });
  }
  return { at: Date.now(), byPid };
}

/** Share of one core each kind used between two snapshots (100 = one full core). */
export function cpuShare(before: Snapshot, after: Snapshot): Record<Kind, number> {
  const seconds = (after.at - before.at) / 1000;
  const share: Record<Kind, number> = { wrk: 0, nginx: 0, node: 0, postgres: 0, redis: 0 };
  for (const [pid, { kind, ticks: t }] of after.byPid) {
    const start = before.byPid.get(pid)?.ticks ?? 0;
    share[kind] += ((t - start) / TICKS_PER_SECOND / seconds) * 100;
  }
  for (const k of Object.keys(share) as Kind[]) share[k] = Math.round(share[k]);
  return share;
}
