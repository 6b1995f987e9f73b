import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createCipher, keyIdOf, UnknownKeyError } from '../../src/crypto/cipher.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const b64 = (k: Buffer): string => k.toString('base64');

it('ENCRYPTION_KEYS: the first encrypts, all decrypt, ENCRYPTION_KEY joins the list when it is not in it', () => {
  const config = loadConfig({ ENCRYPTION_KEYS: `new:${b64(k2)}, old:${b64(k1)}` });
  assert.deepEqual(config.encryptionKeys.map((k) => k.id), ['new', 'old']);
  assert.deepEqual(config.encryptionKey, k2);
  const both = loadConfig({ ENCRYPTION_KEYS: `new:${b64(k2)}`, ENCRYPTION_KEY: b64(k1) });
  assert.deepEqual(both.encryptionKeys.map((k) => k.key), [k2, k1]);
  // The same key under a label and as ENCRYPTION_KEY is one key, not two.
  assert.equal(loadConfig({ ENCRYPTION_KEYS: `a:${b64(k1)}`, ENCRYPTION_KEY: b64(k1) }).encryptionKeys.length, 1);
  assert.deepEqual(loadConfig({ ENCRYPTION_KEY: b64(k1) }).encryptionKeys.map((k) => k.key), [k1]);
  // Either satisfies production's "no key, no start".
  assert.equal(loadConfig({ NODE_ENV: 'production', ENCRYPTION_KEYS: `a:${b64(k1)}` }).encryptionKey?.equals(k1), true);
});

it('ENCRYPTION_KEYS: every malformed entry is reported at once', () => {
  let error: unknown;
  try {
    loadConfig({ ENCRYPTION_KEYS: `good:${b64(k1)},nocolon,short:${b64(randomBytes(16))},good:${b64(k2)}` });
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ConfigError);
  const text = error.problems.join('\n');
  assert.match(text, /entry 2 must be id:base64key/);
  assert.match(text, /key "short" must be base64 of exactly 32 bytes/);
  assert.match(text, /key id "good" appears twice/);
  assert.doesNotMatch(text, new RegExp(b64(k1).slice(0, 10).replace(/[+/]/g, '.')), 'no key material in the message');
});

it('a ciphertext names its key by fingerprint: a relabelled key still reads it; an unknown one fails loudly', () => {
  const written = createCipher(k1).encrypt('secret', 'aad');
  assert.equal(written.split('.')[1], keyIdOf(k1));
  assert.equal(createCipher(k2, [k1]).decrypt(written, 'aad'), 'secret');
  assert.throws(() => createCipher(k2).decrypt(written, 'aad'), (err: unknown) => err instanceof UnknownKeyError && err.keyId === keyIdOf(k1));
});
