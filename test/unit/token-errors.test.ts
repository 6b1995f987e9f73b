import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyTokenError } from '../../src/connections/oauth-client.js';

test('only a dead grant costs the user their connection', () => {
  assert.equal(classifyTokenError(400, 'invalid_grant'), 'invalid_grant');
  assert.equal(classifyTokenError(401, 'invalid_grant'), 'invalid_grant');
  assert.equal(classifyTokenError(200, 'bad_refresh_token'), 'invalid_grant', 'GitHub');
});

test('an upstream that is down, slow or busy is retried, whatever its error code says', () => {
  for (const status of [500, 502, 503, 504, 408, 429]) assert.equal(classifyTokenError(status, undefined), 'transient', String(status));
  assert.equal(classifyTokenError(503, 'invalid_grant'), 'transient', 'a 5xx proves nothing about the grant');
  assert.equal(classifyTokenError(400, 'temporarily_unavailable'), 'transient');
  assert.equal(classifyTokenError(400, 'server_error'), 'transient');
});

test('other refusals are neither retried nor blamed on the user', () => {
  for (const error of ['invalid_client', 'unauthorized_client', 'invalid_request', 'invalid_scope', undefined]) {
    assert.equal(classifyTokenError(400, error), 'rejected', String(error));
  }
  assert.equal(classifyTokenError(401, 'invalid_client'), 'rejected');
});
