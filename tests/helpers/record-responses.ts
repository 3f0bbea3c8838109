// Loaded into the test process (scripts/test.sh: node --import): records
// each HTTP answer the tests receive through fetch and supertest, so that
// scripts/check-api-responses.ts can hold every one against the API
// description after the run. Records nothing unless API_RECORD_DIR is set.
// npm test runs every file in one process (--test-isolation=none), so which
// file received an answer is told by the running test, not the process.
import { writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeEach } from 'node:test';
import { fileURLToPath } from 'node:url';

export type RecordedResponse = {
  /** The test file that received it. */
  file: string;
  method: string;
  url: string;
  status: number;
  headers: Record<string, string>;
  /** The parsed body of a JSON answer; absent for others (their type is in the headers). */
  body?: unknown;
  /** Why a JSON body is absent: not read in time, or not JSON after all. */
  bodyMissing?: string;
};

const dir = process.env.API_RECORD_DIR;
const isJson = (type: string | null | undefined) => /^application\/([\w.-]+\+)?json\b/i.test(type ?? '');

const relative = (name: string) => path.relative(process.cwd(), name.startsWith('file:') ? fileURLToPath(name) : name);

if (dir) {
  // The file of the test running now; a suite's before hook runs before its
  // first test, so for its answers the stack tells (below) where it can.
  let running = relative(process.argv[1] ?? 'unknown');
  beforeEach((t) => {
    if (t.filePath) running = relative(t.filePath);
  });
  /** The test file a request was made from: the nearest *.test.ts on the (async) stack, else the running test's. */
  const callerFile = (): string => {
    // Put back as it was, never called here.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    const { stackTraceLimit, prepareStackTrace } = Error;
    Error.stackTraceLimit = 30;
    Error.prepareStackTrace = (_err, sites) => sites;
    const holder: { stack?: NodeJS.CallSite[] } = {};
    Error.captureStackTrace(holder);
    const sites = holder.stack ?? [];
    Error.stackTraceLimit = stackTraceLimit;
    Error.prepareStackTrace = prepareStackTrace;
    for (const site of sites) {
      const name = site.getFileName();
      if (name && name.endsWith('.test.ts')) return relative(name);
    }
    return running;
  };
  const records: RecordedResponse[] = [];
  let flushed = 0;
  const out = path.join(dir, `${process.pid}.ndjson`);
  // Written at exit, in one go: appending per answer would slow the load tests.
  const flush = () => {
    if (records.length === flushed) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(out, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    flushed = records.length;
  };
  process.on('exit', flush);

  const originalFetch = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const file = callerFile();
    const res = await originalFetch(input, init);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const url = input instanceof Request ? input.url : String(input);
    const record: RecordedResponse = { file, method, url, status: res.status, headers: Object.fromEntries(res.headers) };
    records.push(record);
    if (isJson(res.headers.get('content-type')) && method !== 'HEAD' && res.status !== 204 && res.status !== 304) {
      // A copy of the body, read beside the test's own reading of it.
      record.bodyMissing = 'not received before the process ended';
      void res
        .clone()
        .text()
        .then((text) => {
          try {
            record.body = JSON.parse(text);
            delete record.bodyMissing;
          } catch {
            record.bodyMissing = `not JSON: ${text.slice(0, 200)}`;
          }
        })
        .catch(() => {
          record.bodyMissing = 'cut short';
        });
    }
    return res;
  };

  // supertest: every request ends in Test#assert with superagent's response.
  type SuperResponse = { status: number; headers: Record<string, string | string[]>; body: unknown; text?: string };
  type SuperTest = { method: string; url: string };
  const require = createRequire(__filename);
  type Assert = (this: SuperTest, resError: unknown, res: SuperResponse | undefined, ...rest: unknown[]) => unknown;
  const { Test } = require('supertest') as { Test: { prototype: { assert: Assert } } };
  const originalAssert = Test.prototype.assert;
  Test.prototype.assert = function (this: SuperTest, resError: unknown, res: SuperResponse | undefined, ...rest: unknown[]) {
    if (res) {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(res.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
      const record: RecordedResponse = { file: running, method: this.method.toUpperCase(), url: this.url, status: res.status, headers };
      if (isJson(headers['content-type']) && this.method.toUpperCase() !== 'HEAD' && res.status !== 204 && res.status !== 304) {
        if (res.text !== undefined) {
          try {
            record.body = JSON.parse(res.text);
          } catch {
            record.bodyMissing = `not JSON: ${res.text.slice(0, 200)}`;
          }
        } else {
          record.body = res.body;
        }
      }
      records.push(record);
    }
    return originalAssert.call(this, resError, res, ...rest);
  };
}
