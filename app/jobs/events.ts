import type { Response } from 'express';
import type { Deps } from '../deps';
import { leaveUntimed } from '../metrics';
import { findJob } from './queries';
import { isFinished, jobView, type JobView } from './service';

// nginx ends an upstream read after 35 s of silence (nginx/snippets/proxy.conf);
// a comment line keeps an idle stream open well inside that.
const HEARTBEAT_MS = 15_000;
// Queue events wake the stream at once; this poll is the safety net for one
// that was missed (Redis away, a final state written after the event).
const POLL_MS = 2_000;
// Bursts of queue events are coalesced into one read per this interval, so a
// fast import costs one small read per stream per interval, not per batch.
const MIN_GAP_MS = 100;
// Browsers wait this long before reconnecting after a stream ends.
const RETRY_MS = 1_000;

/**
 * A job's events stream (GET /api/jobs/:id/events): the job as GET
 * /api/jobs/:id shows it, sent at once and again whenever it changes, as
 * `progress` events, then one `done` event when it has ended. Every event is
 * the whole job, so a client that reconnects (with Last-Event-ID or not) is
 * answered with the current state and needs no replay. The event id names
 * the state and progress it carries.
 */
export function streamJob(deps: Deps, res: Response, userId: string, first: JobView): void {
  // Open for as long as the browser follows: no latency to speak of.
  leaveUntimed(res);
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    // nginx passes each event on as it comes (gzip and buffering would hold it).
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  res.write(`retry: ${RETRY_MS}\n\n`);

  let lastId = '';
  let ended = false;
  let reading = false;
  let again = false;
  let lastRead = 0;

  const send = (job: JobView) => {
    const id = `${job.state}.${job.progress.done}.${job.result.invalid_count}`;
    if (id === lastId) return;
    lastId = id;
    res.write(`id: ${id}\nevent: ${isFinished(job) ? 'done' : 'progress'}\ndata: ${JSON.stringify(job)}\n\n`);
    if (isFinished(job)) end();
  };

  const refresh = () => {
    if (ended) return;
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    const wait = Math.max(0, lastRead + MIN_GAP_MS - Date.now());
    setTimeout(() => {
      lastRead = Date.now();
      findJob(deps.db, first.id, userId)
        .then((row) => (row ? send(jobView(row)) : end()))
        .catch((err: unknown) => deps.log.debug({ err, job: first.id }, 'could not read job for its stream'))
        .finally(() => {
          reading = false;
          if (again) {
            again = false;
            refresh();
          }
        });
    }, wait).unref();
  };

  const unsubscribe = deps.jobs.onChange(first.id, refresh);
  const poll = setInterval(refresh, POLL_MS);
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), HEARTBEAT_MS);
  function end() {
    if (ended) return;
    ended = true;
    unsubscribe();
    clearInterval(poll);
    clearInterval(heartbeat);
    deps.lifecycle.longResponses.delete(end);
    res.end();
  }
  deps.lifecycle.longResponses.add(end);
  res.once('close', end);

  send(first);
  // A draining worker answers with the state and lets the browser reconnect
  // to another one.
  if (deps.lifecycle.shuttingDown) end();
}
