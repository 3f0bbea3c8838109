import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

export type JobBody = {
  id: string;
  kind: string;
  state: 'queued' | 'running' | 'succeeded' | 'failed';
  progress: { done: number; total: number | null };
  result: { created: number; skipped: number; invalid: Array<{ line: number; errors: string[] }>; invalid_count: number };
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
};

/** NDJSON lines like our export's: newest first, one second apart, every `finishEvery`th finished. */
export function ndjson(count: number, tag: string, finishEvery = 0): string {
  const start = Date.UTC(2024, 0, 1);
  const lines: string[] = [];
  for (let i = count - 1; i >= 0; i--) {
    const created = new Date(start + i * 1000).toISOString();
    const finished = finishEvery > 0 && i % finishEvery === 0;
    lines.push(
      JSON.stringify({ content: `${tag} ${i}`, is_finished: finished, created_at: created, finished_at: finished ? created : null }),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Polls a job until `until` holds (default: it ended); fails after `timeoutMs`. */
export async function waitForJob(
  get: () => Promise<JobBody>,
  until: (job: JobBody) => boolean = (job) => job.state === 'succeeded' || job.state === 'failed',
  timeoutMs = 60_000,
): Promise<JobBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await get();
    if (until(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${job.id} still ${job.state} (${JSON.stringify(job.progress)}) after ${timeoutMs} ms`);
    await sleep(100);
  }
}

export type SseEvent = { id?: string; event?: string; data?: string; comment?: string; at: number };

/** Reads a text/event-stream body event by event (comments included), until it ends or `stop` says so. */
export async function readEvents(res: Response, stop: (e: SseEvent, all: SseEvent[]) => boolean = () => false): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return events;
      buffer += value;
      let at: number;
      while ((at = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        const e: SseEvent = { at: Date.now() };
        for (const line of block.split('\n')) {
          const colon = line.indexOf(':');
          const field = colon === -1 ? line : line.slice(0, colon);
          const text = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === '') e.comment = text;
          else if (field === 'id' || field === 'event' || field === 'data') e[field] = text;
        }
        if (e.id === undefined && e.event === undefined && e.data === undefined && e.comment === undefined) continue;
        events.push(e);
        if (stop(e, events)) return events;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/** Asserts a fetch Response is an RFC 9457 problem with this status; returns its body. */
export async function assertProblemResponse(res: Response, status: number): Promise<Record<string, unknown>> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8', text);
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.equal(body.status, status);
  assert.ok(typeof body.type === 'string' && typeof body.detail === 'string', text);
  return body;
}
