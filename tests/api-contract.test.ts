import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildApiDocument } from '../app/openapi';
import { apiContract } from './helpers/api-contract';
import type { RecordedResponse } from './helpers/record-responses';

// The checker that holds every recorded answer against the description
// (scripts/check-api-responses.ts) must itself catch drift.
const contract = apiContract(buildApiDocument('test') as unknown as Record<string, unknown>);
const BASE = 'http://127.0.0.1:1';
const todo = {
  id: '0190f2b4-5c1e-4a3b-9d2e-4f6a8b0c1d2e',
  content: 'Buy milk',
  is_finished: false,
  created_at: '2026-01-02T03:04:05.678Z',
  updated_at: '2026-01-02T03:04:05.678Z',
  finished_at: null,
};
const answer = (over: Partial<RecordedResponse>): RecordedResponse => ({
  file: 'tests/x.test.ts',
  method: 'GET',
  url: `${BASE}/api/todos/${todo.id}`,
  status: 200,
  headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': 'r1', etag: 'W/"x"', 'cache-control': 'private, no-cache' },
  body: todo,
  ...over,
});
const judge = (...records: RecordedResponse[]) => contract.judge(records);
const kinds = (...records: RecordedResponse[]) => [...judge(...records).mismatches.keys()];

describe('the API description check', () => {
  it('when an answer is as documented, then it is counted for its operation and nothing differs', () => {
    const verdict = judge(
      answer({}),
      answer({
        url: `${BASE}/api/todos/export?format=csv`,
        headers: {
          'content-type': 'text/csv; charset=utf-8',
          'x-request-id': 'r',
          'content-disposition': 'attachment',
          'cache-control': 'no-store',
        },
        body: undefined,
      }),
    );
    assert.deepEqual([...verdict.mismatches.keys()], []);
    assert.equal(verdict.checked.get('GET /api/todos/{id}'), 1);
    assert.equal(verdict.checked.get('GET /api/todos/export'), 1, 'a literal path wins over a parameter');
  });

  it('when a path differs only as Express ignores (case, a trailing slash), then it is that operation; a path as sent is not resolved', () => {
    const verdict = judge(
      answer({ url: `${BASE}/API/Todos/${todo.id}/` }),
      answer({
        url: `${BASE}/api/%2e%2e/health`,
        status: 404,
        headers: { 'content-type': 'application/problem+json' },
        body: { type: '/problems/not-found', title: 'Not found', status: 404, detail: 'x', request_id: 'r', retryable: false },
      }),
    );
    assert.deepEqual([...verdict.mismatches.keys()], []);
    assert.equal(verdict.checked.get('GET /api/todos/{id}'), 1);
    assert.equal(verdict.checked.get('GET /health'), undefined, '/api/%2e%2e/health is not /health to the server');
  });

  it('when a body has a field the schema does not name, a wrong type or a missing field, then each is a mismatch', () => {
    assert.equal(kinds(answer({ body: { ...todo, owner: 'x' } })).length, 1);
    assert.equal(kinds(answer({ body: { ...todo, is_finished: 'no' } })).length, 1);
    const { finished_at: _, ...partial } = todo;
    assert.equal(kinds(answer({ body: partial })).length, 1);
    assert.equal(
      kinds(answer({ body: { ...todo, content: 'x'.repeat(1001) } })).length,
      1,
      'the 1000-character refinement is in the schema',
    );
  });

  it('when a status, a required header or a header that matters is not as documented, then it is a mismatch', () => {
    assert.match(kinds(answer({ status: 418 }))[0] ?? '', /status 418 is not documented/);
    const { etag: _, ...noEtag } = answer({}).headers;
    assert.match(kinds(answer({ headers: noEtag }))[0] ?? '', /header etag is missing/);
    assert.match(
      kinds(answer({ method: 'PATCH', headers: { ...answer({}).headers, 'cache-control': 'no-store', 'retry-after': '5' } }))[0] ?? '',
      /retry-after is sent but not documented/,
    );
  });

  it('when a problem has a type its status does not document, then it is a mismatch', () => {
    const problem = { type: '/problems/slug-taken', title: 'Conflict', status: 404, detail: 'x', request_id: 'r1', retryable: false };
    const headers = { 'content-type': 'application/problem+json; charset=utf-8', 'x-request-id': 'r1' };
    assert.equal(kinds(answer({ status: 404, headers, body: { ...problem, type: '/problems/not-found' } })).length, 0);
    assert.equal(kinds(answer({ status: 404, headers, body: problem })).length, 1);
  });

  it('when answers are static files or internal endpoints, then they are counted out of scope, and an unknown path must still be a valid 404 problem', () => {
    const verdict = judge(
      answer({ url: `${BASE}/assets/main-ABCDEFGH.js`, headers: { 'content-type': 'text/javascript' }, body: undefined }),
      answer({ url: `${BASE}/metrics`, status: 404 }),
      answer({
        url: `${BASE}/api/nothing`,
        status: 404,
        headers: { 'content-type': 'application/problem+json' },
        body: { type: '/problems/not-found', title: 'Not found', status: 404, detail: 'x', request_id: 'r', retryable: false },
      }),
      answer({ url: `${BASE}/api/nothing`, status: 200 }),
    );
    assert.equal(
      [...verdict.outOfScope.values()].reduce((a, b) => a + b),
      3,
    );
    assert.deepEqual([...verdict.mismatches.keys()], ['GET /api/nothing → 200: no documented operation']);
    assert.ok(verdict.unreached.includes('POST /api/todos'), 'operations no answer reached are listed');
  });

  it("when an answer is the run's Prometheus's (its /api/v1/…), then it is counted out of scope, not an undocumented operation", () => {
    const prometheus = 'http://127.0.0.1:19090';
    const verdict = contract.judge([answer({ url: `${prometheus}/api/v1/rules`, body: { status: 'success' } })], { prometheus });
    assert.deepEqual([...verdict.mismatches.keys()], []);
    assert.equal(
      [...verdict.outOfScope.values()].reduce((a, b) => a + b),
      1,
    );
  });
});
