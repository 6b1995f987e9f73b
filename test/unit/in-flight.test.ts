import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createInFlightLimiter, inFlightMessage } from '../../src/limits/in-flight.js';
import { CallDeadlineError, startDeadline } from '../../src/outbound/deadline.js';

test('in-flight caps: per key first reached with one key, per user across keys, per upstream apart', () => {
  const limiter = createInFlightLimiter({ perUser: 3, perKey: 2 });
  const a1 = limiter.enter('u1', 'k1', 'acme');
  const a2 = limiter.enter('u1', 'k1', 'acme');
  assert.equal(typeof a1, 'function');
  assert.equal(typeof a2, 'function');
  assert.deepEqual(limiter.enter('u1', 'k1', 'acme'), { refused: 'key', limit: 2 });
  const b1 = limiter.enter('u1', 'k2', 'acme');
  assert.equal(typeof b1, 'function');
  assert.deepEqual(limiter.enter('u1', 'k2', 'acme'), { refused: 'user', limit: 3 });
  // Another upstream, and another user, have places of their own.
  assert.equal(typeof limiter.enter('u1', 'k1', 'beta'), 'function');
  assert.equal(typeof limiter.enter('u2', 'k9', 'acme'), 'function');
  assert.equal(limiter.count('u1', 'acme'), 3);

  // A place given back twice counts once.
  (a1 as () => void)();
  (a1 as () => void)();
  assert.equal(limiter.count('u1', 'acme'), 2);
  assert.equal(typeof limiter.enter('u1', 'k1', 'acme'), 'function');
  assert.deepEqual(limiter.enter('u1', 'k1', 'acme'), { refused: 'user', limit: 3 });
});

test('the refusal names the cap and the upstream', () => {
  assert.equal(
    inFlightMessage({ refused: 'key', limit: 8 }, 'Acme'),
    'Too many calls at once: this API key has 8 requests to Acme still waiting for an answer, the most allowed. This one was not sent to Acme; try again when some of them have finished.',
  );
  assert.match(inFlightMessage({ refused: 'user', limit: 16 }, 'Acme'), /^Too many calls at once: your account has 16 requests to Acme/);
});

test('a deadline caps each step to what is left, and refuses to start one with nothing left', () => {
  const deadline = startDeadline(1_000);
  assert.equal(deadline.cap(100), 100);
  const capped = deadline.cap(60_000);
  assert.ok(capped <= 1_000 && capped > 900, String(capped));
  assert.equal(deadline.expired(), false);

  const spent = startDeadline(0);
  assert.equal(spent.expired(), true);
  assert.throws(() => spent.cap(100), (err: unknown) => err instanceof CallDeadlineError && /its 0 s limit/.test(err.message));
});
