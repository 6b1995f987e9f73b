import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKey, parseKey } from '../../src/keys/key-format.js';

const KEY_SHAPE = /^sk_[0-9A-Za-z]{12}_[0-9A-Za-z]{38}$/;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A character different from `c`, from the key alphabet so only the checksum can catch it. */
function otherCharThan(c: string, seed: number): string {
  const candidate = BASE62[seed % BASE62.length] as string;
  return candidate === c ? (BASE62[(seed + 1) % BASE62.length] as string) : candidate;
}

test('generated keys have the sk_<12 public id>_<38 secret+checksum> shape', () => {
  for (let i = 0; i < 200; i++) {
    const { key, publicId, prefix } = generateKey();
    assert.match(key, KEY_SHAPE);
    assert.match(publicId, /^[0-9A-Za-z]{12}$/);
    assert.equal(prefix, `sk_${publicId}`);
    assert.ok(key.startsWith(`${prefix}_`), 'the display prefix is the start of the key');
  }
});

test('a generated key parses back to the same public id and display prefix', () => {
  for (let i = 0; i < 200; i++) {
    const { key, publicId, prefix } = generateKey();
    assert.deepEqual(parseKey(key), { publicId, prefix });
  }
});

test('a one-character typo anywhere in a key is rejected (every position, several substitutions)', () => {
  let tried = 0;
  let rejected = 0;
  const accepted: string[] = [];
  for (let round = 0; round < 20; round++) {
    const { key } = generateKey();
    for (let i = 0; i < key.length; i++) {
      const original = key[i] as string;
      for (const seed of [round, round * 7 + i, round * 13 + 2 * i + 5]) {
        const typo = `${key.slice(0, i)}${otherCharThan(original, seed)}${key.slice(i + 1)}`;
        tried++;
        if (parseKey(typo) === undefined) rejected++;
        else accepted.push(`position ${i}: ${typo}`);
      }
    }
  }
  assert.ok(rejected / tried >= 0.99, `only ${rejected}/${tried} typos rejected`);
  // CRC-32 detects every single-character substitution, so in fact none should get through.
  assert.deepEqual(accepted, []);
});

test('two adjacent characters swapped is rejected', () => {
  const { key } = generateKey();
  for (let i = 3; i < key.length - 1; i++) {
    if (key[i] === key[i + 1]) continue;
    const swapped = `${key.slice(0, i)}${key[i + 1]}${key[i]}${key.slice(i + 2)}`;
    assert.equal(parseKey(swapped), undefined, `swap at ${i}`);
  }
});

test('truncated keys, keys with extra characters, wrong prefixes and surrounding whitespace are rejected', () => {
  const { key, publicId } = generateKey();
  const secretPart = key.slice(`sk_${publicId}_`.length);
  const bad = [
    '',
    'sk_',
    key.slice(0, -1),
    key.slice(0, -6),
    key.slice(1),
    `${key}a`,
    `${key}0`,
    `a${key}`,
    `pk_${publicId}_${secretPart}`,
    `SK_${publicId}_${secretPart}`,
    `sk-${publicId}_${secretPart}`,
    `sk_${publicId}-${secretPart}`,
    ` ${key}`,
    `${key} `,
    `${key}\n`,
    `\t${key}`,
    `Bearer ${key}`,
    `${key.slice(0, 20)} ${key.slice(21)}`,
  ];
  for (const candidate of bad) assert.equal(parseKey(candidate), undefined, JSON.stringify(candidate));
  assert.ok(parseKey(key), 'the untouched key still parses');
});

test('1000 generated keys and their public ids are all different', () => {
  const keys = new Set<string>();
  const ids = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const { key, publicId } = generateKey();
    keys.add(key);
    ids.add(publicId);
  }
  assert.equal(keys.size, 1000);
  assert.equal(ids.size, 1000);
});

test('keys use the whole base62 alphabet, not a biased subset', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 300; i++) for (const c of generateKey().key.slice(3)) seen.add(c);
  for (const c of BASE62) assert.ok(seen.has(c), `character ${c} appears in generated keys`);
});
