import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Every artefact this server hands out (client secrets, request handles, codes, tokens, cookie
 * values) is 256 bits of randomness behind a recognisable prefix, and is stored only as its
 * SHA-256. A slow hash (bcrypt) buys nothing for values nobody can guess, and a fast one keeps
 * every lookup a single indexed read.
 */
export function newSecret(prefix = ''): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

export function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function sameHash(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** RFC 7636 §4.6: BASE64URL(SHA256(ASCII(code_verifier))) === code_challenge, compared in constant time. */
export function pkceMatches(verifier: string, challenge: string): boolean {
  const computed = Buffer.from(createHash('sha256').update(verifier, 'ascii').digest('base64url'));
  const expected = Buffer.from(challenge);
  return computed.length === expected.length && timingSafeEqual(computed, expected);
}

/** RFC 7636 §4.1: 43–128 characters of [A-Z a-z 0-9 - . _ ~]; a challenge (S256) has the same alphabet. */
export const PKCE_VALUE = /^[A-Za-z0-9._~-]{43,128}$/;
