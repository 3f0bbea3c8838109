// Holds recorded answers (tests/helpers/record-responses.ts) against the API
// description: the status must be one the operation documents, the headers
// it requires must be there (and the ones that matter must be documented),
// and a JSON body must match the schema, objects closed: a field the
// description does not name is drift too.
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { RecordedResponse } from './record-responses';

type Json = Record<string, unknown>;
type Operation = { key: string; method: string; template: string; pattern: RegExp; params: number; responses: Record<string, Json> };

export type Verdict = {
  /** Answers checked per operation ("GET /api/todos/{id}"). */
  checked: Map<string, number>;
  /** What differs from the description, each with how often and one example. */
  mismatches: Map<string, { count: number; example: string }>;
  /** Answers that are not the API's, by why they are out of scope. */
  outOfScope: Map<string, number>;
  /** Documented operations that no checked answer reached. */
  unreached: string[];
};

/** Headers that carry a promise: one sent but not documented for that answer is drift. */
const HEADERS_THAT_MATTER = [
  'etag',
  'location',
  'retry-after',
  'idempotent-replayed',
  'set-cookie',
  'www-authenticate',
  'x-cache',
  'content-disposition',
  'ratelimit',
  'ratelimit-policy',
];
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

/** Every object in a schema closed, except the narrowing parts of an allOf (they name a few fields of a closed whole). */
function closed(schema: unknown, inAllOf = false): unknown {
  if (Array.isArray(schema)) return schema.map((s) => closed(s, inAllOf));
  if (typeof schema !== 'object' || schema === null) return schema;
  const copy: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'allOf' && Array.isArray(value)) copy[key] = value.map((s) => closed(s, true));
    else if (key === 'example' || key === 'examples') copy[key] = value;
    else copy[key] = closed(value, false);
  }
  if (copy.properties && copy.additionalProperties === undefined && !inAllOf) copy.additionalProperties = false;
  return copy;
}

const mediaType = (contentType: string | undefined) => (contentType ?? '').split(';', 1)[0]!.trim().toLowerCase();

export function apiContract(document: Json) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const components = closed(document.components) as Json;
  ajv.addSchema({ $id: 'doc', components });
  const deref = (ref: Json | undefined): Json | undefined => {
    const pointer = ref?.$ref;
    if (typeof pointer !== 'string') return ref;
    return pointer
      .slice(2)
      .split('/')
      .reduce<unknown>((node, part) => (node as Json | undefined)?.[part], document) as Json | undefined;
  };
  const rebase = (schema: unknown): unknown =>
    JSON.parse(JSON.stringify(schema), (key, value: unknown) => (key === '$ref' && typeof value === 'string' ? `doc${value}` : value));

  const operations: Operation[] = [];
  for (const [template, item] of Object.entries(document.paths as Record<string, Json>)) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
      operations.push({
        key: `${method.toUpperCase()} ${template}`,
        method: method.toUpperCase(),
        template,
        // As Express routes: a trailing slash and the letters' case do not matter.
        pattern: new RegExp(`^${source}/?$`, 'i'),
        params: (template.match(/\{/g) ?? []).length,
        responses: op.responses as Record<string, Json>,
      });
    }
  }
  // A literal segment wins over a parameter: /api/todos/export is not a todo's id.
  operations.sort((a, b) => a.params - b.params);

  const validators = new Map<unknown, ValidateFunction>();
  const validatorFor = (schema: unknown) => {
    let validate = validators.get(schema);
    if (!validate) {
      validate = ajv.compile(rebase(closed(schema)) as Json);
      validators.set(schema, validate);
    }
    return validate;
  };

  /** What is wrong with one answer; empty when it is as documented. */
  function check(op: Operation, r: RecordedResponse): string[] {
    const problems: string[] = [];
    const documented = op.responses[String(r.status)];
    if (!documented) return [`status ${r.status} is not documented (documented: ${Object.keys(op.responses).join(', ')})`];
    const headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k.toLowerCase(), v]));
    const named = new Map(
      Object.entries((documented.headers ?? {}) as Record<string, Json>).map(([name, header]) => [name.toLowerCase(), deref(header)!]),
    );
    for (const [name, header] of named) {
      const value = headers[name];
      if (value === undefined) {
        if (header.required) problems.push(`header ${name} is missing`);
        continue;
      }
      const validate = validatorFor(header.schema);
      if (!validate(value)) problems.push(`header ${name}: ${JSON.stringify(value)} ${ajv.errorsText(validate.errors)}`);
    }
    for (const name of HEADERS_THAT_MATTER) {
      if (headers[name] !== undefined && !named.has(name)) problems.push(`header ${name} is sent but not documented for ${r.status}`);
    }
    const content = documented.content as Record<string, Json> | undefined;
    const hasBody = r.method !== 'HEAD' && r.status !== 204 && r.status !== 304 && headers['content-length'] !== '0';
    if (!hasBody) return problems;
    const type = mediaType(headers['content-type']);
    if (!content) return [...problems, `a ${type || 'typeless'} body where none is documented`];
    const media = content[type];
    if (!media) return [...problems, `content type ${type} is not documented (documented: ${Object.keys(content).join(', ')})`];
    if (r.bodyMissing) return [...problems, `its JSON body was ${r.bodyMissing}`];
    if (r.body !== undefined) {
      const validate = validatorFor(media.schema);
      if (!validate(r.body)) problems.push(`body: ${ajv.errorsText(validate.errors, { dataVar: 'body' })}`);
    }
    return problems;
  }

  return {
    operations: operations.map((op) => op.key),
    /**
     * Judges every answer. `origins`: what is not for users (nginx's
     * internal listener) or not ours (the run's Prometheus, whose own HTTP
     * API a test queries): those answers are out of scope, as are static
     * files and the internal endpoints.
     */
    judge(records: RecordedResponse[], origins: { internal?: string | undefined; prometheus?: string | undefined } = {}): Verdict {
      const verdict: Verdict = { checked: new Map(), mismatches: new Map(), outOfScope: new Map(), unreached: [] };
      const skip = (why: string) => verdict.outOfScope.set(why, (verdict.outOfScope.get(why) ?? 0) + 1);
      const mismatch = (what: string, example: string) => {
        const seen = verdict.mismatches.get(what);
        if (seen) seen.count += 1;
        else verdict.mismatches.set(what, { count: 1, example });
      };
      for (const r of records) {
        const url = new URL(r.url);
        // The path as sent: URL would resolve "%2e%2e" segments the server never resolved.
        const rawPath = r.url.replace(/^[a-z]+:\/\/[^/]+/i, '').split(/[?#]/, 1)[0]!;
        if (origins.internal && url.origin === new URL(origins.internal).origin) {
          skip("nginx's internal listener (purges, metrics, /health/details): not for users");
          continue;
        }
        if (origins.prometheus && url.origin === new URL(origins.prometheus).origin) {
          skip("the run's Prometheus (its own HTTP API, not this one)");
          continue;
        }
        if (url.pathname === '/metrics' || url.pathname === '/health/details' || url.pathname.startsWith('/_edge/')) {
          skip('internal endpoints (/metrics, /health/details, /_edge/), asked on the public site or a worker');
          continue;
        }
        const problem = mediaType(r.headers['content-type']) === 'application/problem+json';
        if (!problem && !/^\/(api|u|health)(\/|$)/i.test(rawPath)) {
          skip('static files of the browser UI (not the API)');
          continue;
        }
        if (r.method === 'OPTIONS') {
          // Express's automatic answer (Allow), a 401 from a router that needs a user first, or a
          // CORS preflight: nginx answers those from CORS_ORIGINS before the app (docs/security.md).
          skip("OPTIONS: Express's automatic Allow answer, or a CORS preflight, which nginx answers (docs/security.md)");
          continue;
        }
        if (r.status === 308 && url.protocol === 'http:') {
          // nginx with HTTPS_REDIRECT=1 answers plain HTTP so, whatever the path.
          const to = r.headers.location ?? '';
          const target = /^https:\/\/[^/]+(\/.*)?$/.exec(to);
          if (target && (target[1] ?? '/') === rawPath + url.search)
            skip('plain HTTP redirected to the same path over HTTPS (HTTPS_REDIRECT=1)');
          else mismatch(`${r.method} ${rawPath} → 308: Location ${to} is not this path over HTTPS`, `${r.url} [${r.file}]`);
          continue;
        }
        const method = r.method === 'HEAD' ? 'GET' : r.method;
        const op = operations.find((o) => o.method === method && o.pattern.test(rawPath));
        if (!op) {
          // No such operation: the API's 404, or its 401/403 where a router needs a user before it routes
          // (/api/todos/…, /api/jobs/…), still held to the problem shape.
          const label = `${r.method} ${rawPath}`;
          const validate = validatorFor({ $ref: '#/components/schemas/Problem' });
          if (!problem || ![401, 403, 404].includes(r.status)) {
            mismatch(`${label} → ${r.status}: no documented operation`, `${r.url} [${r.file}]`);
          } else if (r.method !== 'HEAD' && !validate(r.body)) {
            mismatch(`${label} → ${r.status} problem: ${ajv.errorsText(validate.errors)}`, `${r.url} [${r.file}]`);
          } else {
            skip('no such operation: answered with a problem (404, or 401/403 where a user is needed first)');
          }
          continue;
        }
        verdict.checked.set(op.key, (verdict.checked.get(op.key) ?? 0) + 1);
        for (const problem of check(op, r)) mismatch(`${r.method} ${op.template} → ${r.status}: ${problem}`, `${r.url} [${r.file}]`);
      }
      verdict.unreached = operations.map((o) => o.key).filter((key) => !verdict.checked.has(key));
      return verdict;
    },
  };
}
