import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, errorText, fieldErrorText, parseRetryAfter, waitText } from '../../app/web/problem';

// The browser tests reach every answer the test stack can give; these cover
// the ones it cannot provoke on demand (429 and 5xx), at the level of words.

const problem = (status: number, extra: object = {}) => ({
  type: '/problems/x',
  title: 'T',
  status,
  detail: 'The detail.',
  request_id: 'r1',
  retryable: status >= 429,
  ...extra,
});

describe('UI error wording', () => {
  it('when Retry-After is seconds, a date or nonsense, then the wait is read as seconds or unknown', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('30', now), 30);
    assert.equal(parseRetryAfter(' 5 ', now), 5);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:01:30 GMT', now), 90);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter(null, now), null);
  });

  it('when the API says 429 with Retry-After, then the text says when to retry', () => {
    assert.equal(errorText(new ApiError(429, problem(429), 30, 'r1')), 'Too many requests right now. You can retry in 30 seconds.');
    assert.equal(errorText(new ApiError(429, problem(429), 1, 'r1')), 'Too many requests right now. You can retry in 1 second.');
    assert.equal(errorText(new ApiError(429, problem(429), 150, 'r1')), 'Too many requests right now. You can retry in 3 minutes.');
    assert.equal(errorText(new ApiError(429, null, null, null)), 'Too many requests right now. Wait a moment, then retry.');
    assert.equal(new ApiError(429, null, null, null).retryable, true);
  });

  it('when the service is down or the network is gone, then the text offers a retry, and a 500 names the request', () => {
    assert.equal(errorText(new ApiError(503, problem(503), 5, 'r1')), 'The service is briefly unavailable. You can retry in 5 seconds.');
    assert.equal(errorText(new ApiError(502, null, null, null)), 'The service is briefly unavailable. Wait a moment, then retry.');
    assert.equal(errorText(new ApiError(0, null, null, null)), 'Cannot reach the server. Check your connection, then retry.');
    assert.equal(
      errorText(new ApiError(500, problem(500), null, 'abc123')),
      'Something went wrong on the server. Retry; if it keeps failing, quote request abc123.',
    );
    assert.equal(new ApiError(0, null, null, null).retryable, true);
    assert.equal(new ApiError(422, problem(422, { retryable: false }), null, null).retryable, false);
  });

  it('when other problems arrive, then their detail or a specific sentence is shown', () => {
    assert.match(errorText(new ApiError(403, problem(403, { type: '/problems/csrf-mismatch' }), null, null)), /Reload the page/);
    assert.equal(errorText(new ApiError(404, problem(404), null, null), { notFound: 'Gone.' }), 'Gone.');
    assert.equal(errorText(new ApiError(413, problem(413), null, null)), 'That is too long to send. The detail.');
    assert.equal(errorText(new ApiError(409, problem(409), null, null)), 'The detail.');
    assert.equal(errorText(new ApiError(418, null, null, null)), 'The server answered with status 418.');
  });

  it('when a field error comes back, then it reads as a sentence about that field', () => {
    assert.equal(
      fieldErrorText({ field: 'content', message: 'must be at most 1000 characters', expected: 'x' }),
      'The todo must be at most 1000 characters.',
    );
    assert.equal(
      fieldErrorText({ field: 'email', message: 'Invalid email address', expected: 'an e-mail address' }),
      'Invalid email address. Expected an e-mail address.',
    );
    assert.equal(
      fieldErrorText({ field: 'colour', message: 'is not a known field', expected: 'only: content' }),
      'The field “colour” is not a known field.',
    );
    assert.equal(waitText(59), '59 seconds');
    assert.equal(waitText(60), '1 minute');
  });
});
