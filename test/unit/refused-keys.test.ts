import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRefusedKeys } from '../../src/auth/refused-keys.js';
import { TooManyRequestsError } from '../../src/errors.js';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 10); // 10 s into a 5-minute window
const limits = { limit: 3, windowSeconds: 300, inFlight: 2 };
const waitOf = (fn: () => unknown): number | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof TooManyRequestsError);
    return Number(err.headers['Retry-After']);
  }
};

test('a check counts as refused while it runs; a good key gives its reservation back', () => {
  const refused = createRefusedKeys(limits);
  const a = refused.admit('192.0.2.1', 'id1', T0);
  const b = refused.admit('192.0.2.1', 'id1', T0);
  assert.equal(waitOf(() => refused.admit('192.0.2.1', 'id1', T0)), 1, 'two in flight: the third waits 1 s');
  a('accepted');
  b('refused');
  refused.admit('192.0.2.1', 'id1', T0)('refused');
  refused.admit('192.0.2.1', 'id1', T0)('failed');
  // 2 refusals so far; one more blocks.
  refused.admit('192.0.2.1', 'id1', T0)('refused');
  assert.equal(waitOf(() => refused.admit('192.0.2.1', 'id1', T0)), 290, 'blocked until the window ends');
  assert.equal(waitOf(() => refused.admit('192.0.2.2', 'id1', T0)), undefined, 'another address is not');
});

test('blocked: fresh key ids one at a time, up to the limit again; then all wait; a new window forgets it all', () => {
  const refused = createRefusedKeys(limits);
  for (let i = 0; i < 3; i += 1) refused.refusedFree('192.0.2.9', T0);
  assert.equal(waitOf(() => refused.refusedFree('192.0.2.9', T0)), 290);
  const first = refused.admit('192.0.2.9', 'neighbour', T0);
  assert.equal(waitOf(() => refused.admit('192.0.2.9', 'other', T0)), 1, 'one at a time while blocked');
  first('accepted');
  for (const id of ['f1', 'f2', 'f3']) refused.admit('192.0.2.9', id, T0)('refused');
  assert.equal(waitOf(() => refused.admit('192.0.2.9', 'neighbour', T0)), 290, 'the extra allowance is spent');
  assert.equal(waitOf(() => refused.admit('192.0.2.9', 'neighbour', T0 + 290_000)), undefined, 'a new window');

  // A check that ends after its window did gives nothing back in the new one.
  const late = refused.admit('192.0.2.10', 'x', T0);
  for (let i = 0; i < 3; i += 1) refused.refusedFree('192.0.2.10', T0 + 290_000);
  late('accepted');
  assert.ok(waitOf(() => refused.refusedFree('192.0.2.10', T0 + 290_000)), 'still blocked');
});
