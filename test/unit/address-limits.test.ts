import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressBucket } from '../../src/limits/client-address.js';
import { createIpLimiter } from '../../src/limits/ip-limiter.js';
import { scopesBeyond } from '../../src/keys/scopes.js';

test('IPv4 addresses are their own bucket; IPv4-mapped IPv6 counts as IPv4', () => {
  assert.equal(addressBucket('203.0.113.7'), '203.0.113.7');
  assert.equal(addressBucket('::ffff:203.0.113.7'), '203.0.113.7');
  assert.equal(addressBucket(undefined), 'unknown');
});

test('IPv6 addresses are bucketed per /64, however they are written', () => {
  const bucket = addressBucket('2001:db8:0:7::1');
  assert.equal(bucket, '2001:db8:0:7::/64');
  for (const same of ['2001:0db8:0000:0007:ffff:1:2:3', '2001:db8:0:7:abcd::', '2001:DB8:0:7::9%eth0']) assert.equal(addressBucket(same), bucket, same);
  assert.notEqual(addressBucket('2001:db8:0:8::1'), bucket);
  assert.equal(addressBucket('::1'), '0:0:0:0::/64');
});

test('the per-address limiter blocks at the limit until the window ends', () => {
  const limiter = createIpLimiter({ limit: 3, windowSeconds: 60 });
  const t0 = Date.UTC(2025, 0, 1, 0, 0, 15);
  for (let i = 0; i < 3; i++) {
    assert.equal(limiter.blockedFor('198.51.100.1', t0), undefined);
    limiter.hit('198.51.100.1', t0);
  }
  assert.equal(limiter.blockedFor('198.51.100.1', t0), 45);
  assert.equal(limiter.blockedFor('198.51.100.2', t0), undefined, 'others are not affected');
  assert.equal(limiter.blockedFor('198.51.100.1', t0 + 45_000), undefined, 'the next window starts fresh');
});

test('a key can never grant scopes beyond its own; tools:write covers tools:read', () => {
  assert.deepEqual(scopesBeyond(['keys', 'connections'], ['keys']), []);
  assert.deepEqual(scopesBeyond(['keys'], ['keys', 'tools:read', 'connections']), ['tools:read', 'connections']);
  assert.deepEqual(scopesBeyond(['tools:write'], ['tools:read']), []);
  assert.deepEqual(scopesBeyond(['tools:read'], ['tools:write']), ['tools:write']);
});
