// The export case: one user with 200,000 todos downloads the whole list
// through nginx, as NDJSON and as CSV, gzipped as browsers get it. curl
// receives the bytes without unpacking them, so the client costs the
// machine next to nothing; each format runs three times and the median is
// reported.
import { execFileSync } from 'node:child_process';

export const EXPORT_ROWS = 200_000;
const RUNS = 3;

export type ExportResult = {
  format: 'ndjson' | 'csv';
  rows: number;
  rowsPerSecond: number;
  /** Request to the first byte of the body, in ms. */
  firstByteMs: number;
  totalMs: number;
  /** Bytes on the wire (gzipped). */
  bytes: number;
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

export function exportCase(base: string, token: string): ExportResult[] {
  return (['ndjson', 'csv'] as const).map((format) => {
    const runs = Array.from({ length: RUNS }, () => {
      const out = execFileSync('curl', [
        '-sS',
        '--fail',
        '-o',
        '/dev/null',
        '-H',
        `Authorization: Bearer ${token}`,
        '-H',
        'Accept-Encoding: gzip',
        '-w',
        '%{time_starttransfer} %{time_total} %{size_download}',
        `${base}/api/todos/export?format=${format}`,
      ]).toString();
      const [first, total, bytes] = out.trim().split(' ').map(Number) as [number, number, number];
      return { firstByteMs: first * 1000, totalMs: total * 1000, bytes };
    });
    const totalMs = median(runs.map((r) => r.totalMs));
    return {
      format,
      rows: EXPORT_ROWS,
      rowsPerSecond: Math.round(EXPORT_ROWS / (totalMs / 1000)),
      firstByteMs: median(runs.map((r) => r.firstByteMs)),
      totalMs,
      bytes: median(runs.map((r) => r.bytes)),
    };
  });
}

export function exportNotes(results: ExportResult[]): string[] {
  return results.map(
    (r) =>
      `Export ${r.format.toUpperCase()}, ${r.rows.toLocaleString('en-US')} todos through nginx (gzip): ${r.rowsPerSecond.toLocaleString('en-US')} rows/s, ` +
      `first byte after ${r.firstByteMs.toFixed(0)} ms, all in ${(r.totalMs / 1000).toFixed(2)} s, ${(r.bytes / 2 ** 20).toFixed(1)} MiB sent (median of ${RUNS}).`,
  );
}
