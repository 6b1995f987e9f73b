import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tokenFreshness } from '../../src/connections/token-freshness.js';

const MINUTE = 60_000;
const now = Date.parse('2026-01-01T12:00:00Z');
/** A token issued `ageMs` ago that lives `lifetimeMs` in all. */
const token = (lifetimeMs: number, ageMs: number) => ({ issuedAt: new Date(now - ageMs), expiresAt: new Date(now - ageMs + lifetimeMs) });

test('long-lived tokens are refreshed in their last 5 minutes', () => {
  assert.equal(tokenFreshness(token(60 * MINUTE, 54 * MINUTE), now), 'fresh');
  assert.equal(tokenFreshness(token(60 * MINUTE, 55 * MINUTE), now), 'due');
  assert.equal(tokenFreshness(token(60 * MINUTE, 59 * MINUTE), now), 'due');
  assert.equal(tokenFreshness(token(60 * MINUTE, 60 * MINUTE), now), 'expired');
});

test('short-lived tokens are refreshed in the second half of their lifetime, not on every call', () => {
  assert.equal(tokenFreshness(token(2 * MINUTE, 59_000), now), 'fresh');
  assert.equal(tokenFreshness(token(2 * MINUTE, 60_000), now), 'due');
  assert.equal(tokenFreshness(token(4_000, 1_999), now), 'fresh');
  assert.equal(tokenFreshness(token(4_000, 2_000), now), 'due');
  assert.equal(tokenFreshness(token(4_000, 4_001), now), 'expired');
});

test('a token without expiry is never refreshed ahead of time', () => {
  assert.equal(tokenFreshness({ issuedAt: new Date(now - 365 * 24 * 60 * MINUTE), expiresAt: null }, now), 'fresh');
});

test('an issue time after the expiry (clocks moved) gets the full 5-minute margin, never none', () => {
  assert.equal(tokenFreshness({ issuedAt: new Date(now + MINUTE), expiresAt: new Date(now - 1) }, now), 'expired');
  assert.equal(tokenFreshness({ issuedAt: new Date(now + 10 * MINUTE), expiresAt: new Date(now + MINUTE) }, now), 'due');
});
