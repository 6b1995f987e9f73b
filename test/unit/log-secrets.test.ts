import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKey } from '../../src/keys/key-format.js';
import { createLogger } from '../../src/log.js';
import { Writable } from 'node:stream';
import { secretInLogs } from '../support/log-secrets.js';

/** The suite-wide scan every test app runs at close (test/support/app.ts) must catch each shape. */
describe('the log scan that every test app runs at close', () => {
  const { key, prefix } = generateKey();

  it('finds a whole key, a bearer credential, a secret-named field and the encryption key', () => {
    assert.match(secretInLogs([`{"msg":"verified ${key}"}`]) ?? '', /whole sk_ key/);
    assert.match(secretInLogs(['{"msg":"sent Bearer eyJhbGciOiJSUzI1NiJ9.payload.sig"}']) ?? '', /bearer credential/);
    assert.match(secretInLogs(['{"body":{"refresh_token":"rt_9f8e7d6c5b4a"}}']) ?? '', /refresh_token value/);
    assert.match(secretInLogs(['{"msg":"key QUJDREVGR0hJSktMTU5PUA=="}'], ['QUJDREVGR0hJSktMTU5PUA==']) ?? '', /encryption key/);
  });

  it('lets through what may be logged: key prefixes, redaction markers, instructions', () => {
    assert.equal(
      secretInLogs([
        `{"key":"${prefix}","msg":"key used"}`,
        '{"req":{"headers":{"authorization":"[redacted]"}}}',
        '{"access_token":"[redacted]","msg":"Send it as \\"Authorization: Bearer <key>\\""}',
      ]),
      undefined,
    );
  });

  it('our logger’s redaction keeps a logged request header out of the scan’s reach', () => {
    const lines: string[] = [];
    const log = createLogger('trace', new Writable({ write: (c: Buffer, _e, done) => { lines.push(c.toString('utf8')); done(); } }));
    log.trace({ req: { headers: { authorization: `Bearer ${key}` } } }, 'request');
    assert.equal(lines.length, 1);
    assert.equal(secretInLogs(lines), undefined, lines[0]);
  });
});
