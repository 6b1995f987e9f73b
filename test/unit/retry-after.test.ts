import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryAfterSeconds } from '../../src/outbound/retry-after.js';

const now = Date.parse('Sun, 06 Nov 1994 08:49:00 GMT');

test('delay-seconds are taken as they are', () => {
  assert.equal(retryAfterSeconds('7', now), 7);
  assert.equal(retryAfterSeconds(' 120 ', now), 120);
  assert.equal(retryAfterSeconds('0', now), 0);
});

test('an HTTP-date becomes the seconds until then, in any of the RFC 9110 forms', () => {
  assert.equal(retryAfterSeconds('Sun, 06 Nov 1994 08:49:37 GMT', now), 37);
  assert.equal(retryAfterSeconds('Sunday, 06-Nov-94 08:49:37 GMT', now), 37);
  assert.equal(retryAfterSeconds('Sun, 06 Nov 1994 08:40:00 GMT', now), 0, 'a date already past means now');
});

test('absent or unreadable values give no hint rather than a wrong one', () => {
  for (const value of [null, '', 'soon', '-1', '1.5', '1e3', 'Sun, 99 Nov 1994 08:49:37 GMT']) {
    assert.equal(retryAfterSeconds(value, now), undefined, String(value));
  }
});
