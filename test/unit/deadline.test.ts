import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Deadline } from '../../src/outbound/deadline.js';
import { upstreamTimedOut } from '../../src/mcp/upstream-request.js';

test('a deadline that runs out aborts once, with a reason callers classify as a timeout', async () => {
  const deadline = new Deadline(20);
  assert.equal(deadline.aborted, false);
  let aborts = 0;
  deadline.on('abort', () => aborts++);
  await once(deadline, 'abort');
  assert.equal(deadline.aborted, true);
  assert.equal(deadline.reason?.name, 'TimeoutError');
  assert.equal(upstreamTimedOut(deadline.reason), true);
  assert.equal(aborts, 1);
});

test('a cleared deadline never fires', async () => {
  const deadline = new Deadline(20);
  deadline.on('abort', () => assert.fail('aborted after clear()'));
  deadline.clear();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(deadline.aborted, false);
  assert.equal(deadline.reason, undefined);
});
