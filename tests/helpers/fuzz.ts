import { randomInt } from 'node:crypto';
import type { Response } from 'supertest';
import { assertProblem, type TestApp } from './app';

export type Method = 'get' | 'post' | 'patch' | 'put' | 'delete' | 'head' | 'options';
/** One generated request; `route` names the SPEC route it aims at, `kind` what is wrong with it. */
export type Case = { kind: string; route: string; method: Method; path: string; headers: Record<string, string>; body?: string | Buffer };

/** mulberry32: tiny, and the same sequence for the same seed on every machine. */
export class Rng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let x = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  bytes(n: number): Buffer {
    return Buffer.from(Array.from({ length: n }, () => this.int(256)));
  }
  /** A UUID-shaped string built from the sequence, so it replays with the seed. */
  uuid(): string {
    const h = this.bytes(16).toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

/** FUZZ_SEED replays a failed run; otherwise every run explores new inputs. */
export function fuzzSeed(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FUZZ_SEED;
  if (raw === undefined || raw === '') return randomInt(2 ** 31);
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`FUZZ_SEED must be a whole number below 2^32, got "${raw}"`);
  return n;
}

/** Runs fn over items with at most `concurrency` in flight. */
export async function pooled<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

const b64url = (s: string | Buffer) => Buffer.from(s).toString('base64url');

/** JSON texts of the wrong type for a string or boolean field, kept raw so 1e309 stays a literal. */
export const WRONG_TYPES = [
  '0',
  '-1',
  '1.5',
  '-0',
  '1e309',
  '-1e309',
  '99999999999999999999',
  '0.1e-400',
  '[]',
  '["a"]',
  '[null]',
  '{}',
  '{"a":1}',
  'null',
  'true',
  'false',
  '[[[[[[]]]]]]',
  '{"__proto__":{"admin":true}}',
  '{"toString":"x"}',
  '""',
];

/** Query values that are not a whole number in range. */
export const BAD_NUMBERS = [
  '1e309',
  '-1',
  '1.5',
  '99999999999999999999',
  '0x10',
  '0',
  '101',
  '10001',
  '1e2',
  '+1',
  '%201',
  '1%20',
  '',
  'NaN',
  'Infinity',
  '%ff',
  '%00',
  '%D9%A1',
  '%EF%BC%91',
  '0b1',
  '1_000',
  '0000000001',
  '-0',
  '1,2',
  '[1]',
];

/** Strings that break naive text handling: surrogates, NUL, bidi and zero-width marks, lengths, emoji. */
export function oddString(r: Rng): string {
  const grin = '\u{1F600}';
  const choices: (() => string)[] = [
    () => '\ud800',
    () => 'a\udfffb',
    () => '\udc00\ud800',
    () => `x${'\ud83d'}`,
    () => '\u0000',
    () => 'a\u0000b',
    () => '\u202eevil\u202c',
    () => '\u200b',
    () => 'x\u200by\u200d',
    () => '\ufeff',
    () => '\u2028\u2029',
    () => ' \t\n\r ',
    () => '',
    () => '\u00a0\u3000',
    () => 'e\u0301'.repeat(r.int(600) + 1),
    () => 'a'.repeat(1001),
    () => grin.repeat(1001),
    () => grin.repeat(1000),
    () => `${grin.repeat(999)}ab`,
    () => 'z'.repeat(1001 + r.int(5000)),
    () => '\u{10FFFF}\uFFFE\uFFFF',
    () => '\u0001\u001f\u007f',
    () => '<script>alert(1)</script>',
    () => "'; DROP TABLE todos; --",
    () => '%ff%00',
    () => '@'.repeat(r.int(300) + 1),
    () => `${'\u0627'.repeat(50)}@example.test`,
    () => `ok${'\u0000'}@example.test`,
    () => 'Ω'.repeat(r.int(260)),
  ];
  return r.pick(choices)();
}

/** Bodies that are not valid JSON, or are JSON that should never reach a handler intact. */
export function malformedJson(r: Rng, valid: string): string {
  const depth = r.pick([64, 1000, 5000, 8000]);
  const choices: (() => string)[] = [
    () => valid.slice(0, r.int(valid.length)),
    () => valid.replace(/}$/, ',}'),
    () => `[${valid},]`,
    () => `\ufeff${valid}`,
    () => `\ufeff\ufeff${valid}`,
    () => '['.repeat(depth) + ']'.repeat(depth),
    () => '['.repeat(depth),
    () => `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`,
    () => `${valid}}`,
    () => valid.replaceAll('"', "'"),
    () => valid.replace(/"(\w+)":/g, '$1:'),
    () => '{"content":NaN}',
    () => `/* c */${valid}`,
    () => '',
    () => '   ',
    () => '"just a string"',
    () => '123',
    () => 'null',
    () => 'true',
    () => '{"content":"x',
    () => '{"content":"\\x"}',
    () => '{"content":"\\u12"}',
    () => '{"content":"a\u0001b"}',
    () => `${valid}${valid}`,
    () => '{"a":1,"a":2,',
    () => '{,}',
    () => '\u0000',
    () => '{"content":"\\ud800"',
    () => '}{',
  ];
  return r.pick(choices)();
}

/** Ids that must never name a row: wrong shape, wrong case, traversal, broken percent-encoding. */
export function badId(r: Rng, realIds: readonly string[]): string {
  const real = r.pick(realIds);
  const choices: (() => string)[] = [
    () => 'not-a-uuid',
    () => real.toUpperCase(),
    () => real.slice(0, -1),
    () => `${real}0`,
    () => `%7B${real}%7D`,
    () => real.replaceAll('-', ''),
    () => `${real.slice(0, 8)}${real.slice(9)}-`,
    () => real.replace(/[0-9a-f]$/, 'g'),
    () => '00000000-0000-0000-0000-000000000000',
    () => 'ffffffff-ffff-ffff-ffff-ffffffffffff',
    () => '00000000-0000-0000-0000-000000000001',
    () => r.uuid(),
    () => r.uuid().toUpperCase(),
    () => '..',
    () => '..%2f..%2fetc%2fpasswd',
    () => '%2e%2e%2f%2e%2e%2f',
    () => '....%5c%5c',
    () => '%ff',
    () => '%00',
    () => '%',
    () => '%zz',
    () => '%c0%af',
    () => '%e2%80%ae',
    () => `${real}%00`,
    () => '%ed%a0%80',
    () => 'a'.repeat(500),
    () => '-1',
    () => '0',
    () => '%20',
    () => `${real}%0a`,
    () => r.bytes(r.int(40) + 1).toString('base64url'),
  ];
  return r.pick(choices)();
}

/** Cursors this API never issued, URL-encoded for a query string. */
export function badCursor(r: Rng): string {
  const id = r.uuid();
  const date = r.pick([
    '2020-01-01',
    '2020-01-01T00:00:00Z',
    '2020-01-01T00:00:00.000+00:00',
    'Wed, 01 Jan 2020 00:00:00 GMT',
    '2020-02-30T00:00:00.000Z',
    '+275760-09-13T00:00:00.000Z',
    '-271821-04-20T00:00:00.000Z',
    '-004714-11-23T00:00:00.000Z',
    '0000-01-01T00:00:00.000Z',
    '1577836800000',
    'yesterday',
    '',
  ]);
  const choices: (() => string)[] = [
    () => b64url(r.bytes(r.int(150) + 1)),
    () => Array.from({ length: r.int(60) + 1 }, () => r.pick([...'AZaz09-_='])).join(''),
    () => encodeURIComponent(r.bytes(r.int(90) + 3).toString('base64')),
    () => r.bytes(30).toString('base64'),
    () => b64url(r.pick(['{}', '[]', '[1,2]', '["x","y"]', '"s"', 'null', '[null,null]', `["${id}"]`])),
    () => b64url(JSON.stringify([date, id])),
    () => b64url(JSON.stringify([new Date(0).toISOString(), id, 'extra'])),
    () => b64url(JSON.stringify([Date.parse('2020-01-01'), id])),
    () => b64url(JSON.stringify({ createdAt: date, id })),
    () => b64url(JSON.stringify(['2020-01-01T00:00:00.000Z', id.toUpperCase()])),
    () => 'A'.repeat(201 + r.int(100)),
    () => '%ff',
    () => '',
    () => b64url(`${'['.repeat(90)}`),
    () => b64url('\u0000'),
    () => r.uuid(),
  ];
  return r.pick(choices)();
}

/** Authorization headers that are not "Bearer <a live token>". */
export function badAuthorization(r: Rng, liveToken: string): string {
  return r.pick([
    '',
    'Bearer',
    'Bearer ',
    `bearer ${liveToken}`,
    `Bearer  ${liveToken}`,
    `Bearer ${liveToken}x`,
    `Bearer ${liveToken.slice(0, -1)}`,
    `Token ${liveToken}`,
    'Basic Zm9vOmJhcg==',
    `Bearer tdo_${'A'.repeat(43)}`,
    `Bearer ${'a'.repeat(201)}`,
    `Bearer tdo_${'x'.repeat(2000)}`,
    'Bearer tdo_%ff',
    'Bearer tdo_\xe9\xff',
    `Bearer ${liveToken}, Bearer ${liveToken}`,
    'Bearer null',
    'Bearer undefined',
    `Bearer ${b64url(r.bytes(r.int(60) + 1))}`,
    `Bearer tdo_${b64url(r.bytes(32))}`,
    'Bearer ../../etc/passwd',
    '\t',
  ]);
}

/** Cookie headers with no usable session in them. */
export function badCookie(r: Rng): string {
  return r.pick([
    'sid=',
    'sid',
    '=',
    ';;;',
    'sid=garbage',
    'sid=%ff',
    'sid=%00',
    'sid=%',
    'sid="quoted"',
    `sid=${'x'.repeat(4000)}`,
    `sid=${b64url(r.bytes(32))}`,
    'sid=a; sid=b',
    'SID=abc',
    'sid=\xe9\xff',
    'sid=a=b=c',
    `other=1; sid=${b64url(r.bytes(8))}`,
    '__proto__=1; sid=x',
    'sid=null',
    'sid=undefined',
    'sid=../../',
    `sid=${'%41'.repeat(300)}`,
  ]);
}

/** Sometimes also a header the app must shrug off. */
export function perturb(r: Rng, c: Case): Case {
  if (!r.chance(0.15)) return c;
  const [name, value] = r.pick([
    ['X-Request-Id', 'bad id'],
    ['X-Request-Id', 'x'.repeat(500)],
    ['X-Request-Id', 'short'],
    ['X-Request-Id', '\xe9'.repeat(10)],
    ['Sec-Fetch-Site', 'cross-site'],
    ['If-None-Match', r.pick(['*', 'W/"x"', '"', ''])],
    ['Accept', 'text/html'],
    ['X-Forwarded-For', 'garbage, ::1'],
    ['X-HTTP-Method-Override', 'DELETE'],
    ['Accept-Charset', 'utf-7'],
  ] as const);
  return { ...c, headers: { ...c.headers, [name]: value } };
}

export function send(t: TestApp, c: Case): Promise<Response> {
  let req = t.http()[c.method](c.path);
  for (const [k, v] of Object.entries(c.headers)) req = req.set(k, v);
  // Buffers go out byte for byte (and without a Content-Type unless one is set).
  if (Buffer.isBuffer(c.body)) req = req.serialize((b: unknown) => b as string).send(c.body);
  else if (c.body !== undefined) req = req.send(c.body);
  return req;
}

/** What is wrong with the response, or undefined when it is acceptable. */
export function verdict(c: Case, res: Response): string | undefined {
  const id = res.headers['x-request-id'];
  if (typeof id !== 'string' || !/^[A-Za-z0-9._:-]{8,128}$/.test(id)) return `no usable X-Request-Id (${String(id)})`;
  if (res.status >= 500) return `${res.status} ${res.text}`;
  const raw = c.method === 'head';
  if (res.status >= 400 && !raw) {
    try {
      assertProblem(res, res.status);
    } catch (err) {
      return (err as Error).message;
    }
    if (/node_modules|\bat .+:\d+:\d+\)|\bFROM \w+ WHERE\b/.test(res.text)) return `internals leaked: ${res.text}`;
  }
  const json = /^application\/json; charset=utf-8$/.test(String(res.headers['content-type']));
  if (res.status >= 200 && res.status < 300 && res.status !== 204 && !raw && c.method !== 'options' && !json)
    return `success that is not JSON: ${res.headers['content-type']}`;
  return undefined;
}

export const describeCase = (c: Case) =>
  `[${c.kind}] ${c.method.toUpperCase()} ${c.path.slice(0, 160)} headers=${JSON.stringify(c.headers).slice(0, 300)} body=${JSON.stringify(Buffer.isBuffer(c.body) ? `<${c.body.length} bytes>` : c.body)?.slice(0, 200)}`;
