// npx tsx bench/scrypt.ts: what each scrypt cost takes on this machine, to
// choose PASSWORD_SCRYPT_LOG_N and PASSWORD_SCRYPT_P (app/config.ts).
// Each cost runs in a child process of its own, so its peak RSS is its own.
import { execFileSync } from 'node:child_process';
import { randomBytes, scrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

const R = 8;
// OWASP's scrypt line (Password Storage Cheat Sheet): N=2^17, r=8, p=1, or an
// equal cost with less memory: 2^16/p=2, 2^15/p=3, 2^14/p=5.
const COSTS: Array<[logN: number, p: number]> = [
  [15, 1],
  [16, 1],
  [17, 1],
  [16, 2],
  [15, 3],
  [14, 5],
];
const SEQUENTIAL = 9;
// libuv's thread pool runs 4 hashes at once by default: a worker's worst case.
const CONCURRENT = 4;

const hash = (logN: number, p: number) =>
  new Promise<void>((resolve, reject) => {
    const N = 2 ** logN;
    scrypt('correct horse battery', randomBytes(16), 32, { N, r: R, p, maxmem: 2 * 128 * N * R }, (err) => (err ? reject(err) : resolve()));
  });

const peakRssMiB = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

async function measure(logN: number, p: number): Promise<Record<string, number>> {
  const base = rssMiB();
  const times: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < SEQUENTIAL; i++) {
    const start = performance.now();
    await hash(logN, p);
    times.push(performance.now() - start);
  }
  const { user, system } = process.cpuUsage(cpu);
  const peakOne = peakRssMiB() - base;
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENT * 2 }, () => hash(logN, p)));
  const perSecond = (CONCURRENT * 2) / ((performance.now() - start) / 1000);
  times.sort((a, b) => a - b);
  return {
    logN,
    p,
    memMiB: (128 * 2 ** logN * R) / 2 ** 20,
    medianMs: times[Math.floor(times.length / 2)]!,
    // CPU time is what the hash costs; wall time also shows what else ran.
    cpuMs: (user + system) / 1000 / SEQUENTIAL,
    hashesPerSecond: perSecond,
    peakRssOneMiB: peakOne,
    peakRssFourMiB: peakRssMiB() - base,
    afterRssMiB: rssMiB() - base,
  };
}

async function main(): Promise<void> {
  const [logN, p] = process.argv.slice(2).map(Number);
  if (logN !== undefined && p !== undefined) {
    process.stdout.write(JSON.stringify(await measure(logN, p)));
    return;
  }
  const f = (n: number) => n.toFixed(0);
  console.log(`scrypt, r=${R}, on ${availableParallelism()} cores, Node.js ${process.version}`);
  console.log(
    '| N | p | memory per hash | time per hash (median) | CPU per hash | hashes/s, 4 at once | peak RSS, 1 at a time | peak RSS, 4 at once | RSS after |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const [logN, p] of COSTS) {
    const out = execFileSync(process.execPath, [...process.execArgv, __filename, String(logN), String(p)], { encoding: 'utf8' });
    const m = JSON.parse(out) as Record<string, number>;
    console.log(
      `| 2^${logN} | ${p} | ${f(m.memMiB!)} MiB | ${f(m.medianMs!)} ms | ${f(m.cpuMs!)} ms | ${m.hashesPerSecond!.toFixed(1)} | +${f(m.peakRssOneMiB!)} MiB | +${f(m.peakRssFourMiB!)} MiB | +${f(m.afterRssMiB!)} MiB |`,
    );
  }
}

void main();
