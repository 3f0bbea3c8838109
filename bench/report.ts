import type { Kind } from './cpu';
import { exportNotes, type ExportResult } from './export';
import { importNote, type ImportResult } from './import';
import type { WrkRun } from './wrk';

export type CaseResult = WrkRun & {
  id: string;
  name: string;
  connections: number;
  cpu: Record<Kind, number>;
  verified?: { acknowledged: number; inDatabase: number };
};

// The tutorial's figures, for context: Flask dev server → gunicorn → gevent →
// nginx + gunicorn → nginx + gunicorn + Redis page cache (1000 connections).
const TUTORIAL = '43 → 298 → 863 → 1128 → 2992';

const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(v < 10 ? 2 : 1) : '–');

export function report(
  results: CaseResult[],
  meta: { machine: string; rssMb: number[]; seconds: number; totalSeconds: number; exports: ExportResult[]; imports: ImportResult },
) {
  const ceiling = (c: number) => results.find((r) => r.id === 'F' && r.connections === c)?.rps ?? NaN;
  const rows = results.map((r) => {
    const ratio = r.rps / ceiling(r.connections === 1000 ? 1000 : 100);
    const cpu = `wrk ${r.cpu.wrk} · nginx ${r.cpu.nginx} · node ${r.cpu.node} · pg ${r.cpu.postgres} · redis ${r.cpu.redis}`;
    return `| ${r.id} | ${r.name} | ${Math.round(r.rps)} | ${ratio.toFixed(2)} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${r.socketErrors} | ${r.timeouts} | ${r.non2xx} | ${cpu} |`;
  });
  const a100 = results.find((r) => r.id === 'A' && r.connections === 100);
  const c1 = results.find((r) => r.id === 'C-1');
  const c9000 = results.find((r) => r.id === 'C-9000');
  const d = results.find((r) => r.id === 'D');
  const notes = [
    `Machine: ${meta.machine}. ${meta.seconds} s per case after a warm-up, wrk with 2 threads, through nginx; the whole run took ${meta.totalSeconds} s.`,
    `Ratio: req/s over the ceiling F (nginx serving case A's exact body as a static file) at the same connection count, in this run.`,
    `CPU: share of one core per process kind during the case (200 = both cores).`,
    a100 ? `A at 100 connections: ${(a100.rps / ceiling(100)).toFixed(2)} × F, p99 ${ms(a100.p99)} ms.` : '',
    c1 && c9000 ? `C: page 9,000 deep p50 ${ms(c9000.p50)} ms vs page 1 ${ms(c1.p50)} ms (${(c9000.p50 / c1.p50).toFixed(2)}×).` : '',
    d?.verified ? `D: ${d.verified.acknowledged} creates acknowledged, ${d.verified.inDatabase} in the database afterwards.` : '',
    `RSS per worker after the wrk cases: ${meta.rssMb.map((m) => `${m} MB`).join(', ')}.`,
    ...exportNotes(meta.exports),
    importNote(meta.imports),
    `The tutorial's steps, for context: ${TUTORIAL} req/s (its best: nginx + gunicorn + Redis page cache at 1000 connections).`,
  ].filter(Boolean);
  const markdown = [
    '| case | what | req/s | × F | p50 ms | p99 ms | max ms | socket errors | timeouts | non-2xx | CPU % (one core = 100) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...rows,
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  return {
    markdown,
    json: {
      machine: meta.machine,
      at: new Date().toISOString(),
      seconds: meta.seconds,
      rssMb: meta.rssMb,
      results,
      exports: meta.exports,
      imports: meta.imports,
    },
  };
}
