import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRefreshSlots } from '../../src/connections/refresh-slots.js';

test('no more slots than the size; a released slot can be taken again; releasing twice frees one', () => {
  const slots = createRefreshSlots(2);
  const a = slots.tryTake();
  const b = slots.tryTake();
  assert.ok(a && b);
  assert.equal(slots.tryTake(), undefined);
  a();
  a();
  assert.ok(slots.tryTake());
  assert.equal(slots.tryTake(), undefined, 'the second release of the same slot freed nothing');
});

test('waiters get freed slots first come, first served, and give up after their wait', async () => {
  const slots = createRefreshSlots(1);
  const held = slots.tryTake();
  assert.ok(held);
  const order: string[] = [];
  const first = slots.take(1_000).then((r) => (order.push('first'), r));
  const second = slots.take(1_000).then((r) => (order.push('second'), r));
  const impatient = slots.take(20);
  assert.equal(await impatient, undefined, 'no slot came free within 20 ms');
  held();
  const r1 = await first;
  assert.ok(r1);
  r1();
  const r2 = await second;
  assert.ok(r2);
  assert.deepEqual(order, ['first', 'second']);
  assert.equal(slots.tryTake(), undefined, 'the slot went from waiter to waiter');
  r2();
  assert.ok(slots.tryTake());
});
