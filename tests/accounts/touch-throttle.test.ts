import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { touchThrottle } from '../../app/accounts/auth';

const MINUTE = 60_000;

describe("recording a token's last use at most once a minute per worker", () => {
  it('when a token is used again within the minute, then that use is not recorded; after the minute it is', () => {
    const throttle = touchThrottle(MINUTE, 100);
    assert.equal(throttle.due('a', 0), true);
    assert.equal(throttle.due('a', 1_000), false);
    assert.equal(throttle.due('a', MINUTE), false);
    assert.equal(throttle.due('b', MINUTE), true, 'other tokens are recorded on their own');
    assert.equal(throttle.due('a', MINUTE + 1), true);
    assert.equal(throttle.due('a', MINUTE + 2), false);
  });

  it('when tokens were last recorded more than a minute ago, then their entries are gone', () => {
    const throttle = touchThrottle(MINUTE, 100_000);
    for (let i = 0; i < 5_000; i++) throttle.due(randomUUID(), i);
    assert.equal(throttle.size, 5_000);
    throttle.due('later', 5_000 + MINUTE);
    assert.equal(throttle.size, 1, 'only the entry still inside its minute is kept');
  });

  it('when more tokens than the bound are used within one minute, then it never holds more than the bound and each first use is recorded', () => {
    const throttle = touchThrottle(MINUTE, 1_000);
    for (let i = 0; i < 50_000; i++) {
      assert.equal(throttle.due(randomUUID(), i / 1_000), true);
      assert.ok(throttle.size <= 1_000, `${throttle.size} entries after ${i + 1} tokens`);
    }
    assert.equal(throttle.size, 1_000);
  });
});
