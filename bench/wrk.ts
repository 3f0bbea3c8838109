import { spawn } from 'node:child_process';

export type WrkRun = {
  rps: number;
  p50: number;
  p99: number;
  max: number;
  requests: number;
  socketErrors: number;
  timeouts: number;
  non2xx: number;
  errors: { connect: number; read: number; write: number; timeout: number };
  /** Requests that got no 2xx answer: non-2xx plus every kind of socket error. */
  failed: number;
  /** What a Lua script printed in done(), e.g. acknowledged creates. */
  extra: Record<string, number>;
};

const toMs = (value: string, unit: string) => Number(value) * ({ us: 0.001, ms: 1, s: 1000, m: 60_000 }[unit] ?? NaN);

function parse(out: string): WrkRun {
  const latency = (label: string) => {
    const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(out);
    return m ? toMs(m[1]!, m[2]!) : NaN;
  };
  const maxLine = /Latency\s+[\d.]+\w+\s+[\d.]+\w+\s+([\d.]+)(us|ms|s|m)/.exec(out);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const extra: Record<string, number> = {};
  for (const m of out.matchAll(/^bench:(\w+)=(\d+)$/gm)) extra[m[1]!] = Number(m[2]);
  const [connect, read, write, timeout] = [1, 2, 3, 4].map((i) => Number(errors?.[i] ?? 0)) as [number, number, number, number];
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    p50: latency('50'),
    p99: latency('99'),
    max: maxLine ? toMs(maxLine[1]!, maxLine[2]!) : NaN,
    requests: Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN),
    socketErrors: connect + read + write,
    timeouts: timeout,
    non2xx,
    errors: { connect, read, write, timeout },
    failed: non2xx + connect + read + write + timeout,
    extra,
  };
}

export type WrkOptions = {
  url: string;
  connections: number;
  seconds: number;
  headers?: string[];
  script?: string;
  env?: Record<string, string>;
};

/** One wrk run (2 threads, as many cores as the machine has); rejects if wrk fails. */
export function wrk(o: WrkOptions): Promise<WrkRun> {
  const args = ['-t', '2', '-c', String(o.connections), '-d', `${o.seconds}s`, '--timeout', '5s', '--latency'];
  for (const h of o.headers ?? []) args.push('-H', h);
  if (o.script) args.push('-s', o.script);
  args.push(o.url);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { env: { ...process.env, ...o.env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const run = parse(out);
      if (code !== 0 || Number.isNaN(run.rps)) reject(new Error(`wrk failed (${code}):\n${out}`));
      else resolve(run);
    });
  });
}
