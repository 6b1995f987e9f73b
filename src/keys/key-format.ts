import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * API key wire format: `sk_<public id>_<secret><checksum>`.
 *
 * - `sk_` lets secret scanners (GitHub push protection, gitleaks) match leaked keys;
 * - the 12-character public id is the database lookup key, so verifying a key is one indexed
 *   read plus one bcrypt compare, never a scan;
 * - 32 base62 characters of secret carry ~190 bits of entropy;
 * - the 6-character CRC-32 checksum rejects typos and truncated pastes before any database
 *   or bcrypt work (the same idea as GitHub's token format).
 */
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PUBLIC_ID_LENGTH = 12;
const SECRET_LENGTH = 32;
const CHECKSUM_LENGTH = 6;
const KEY_PATTERN = new RegExp(`^sk_([0-9A-Za-z]{${PUBLIC_ID_LENGTH}})_([0-9A-Za-z]{${SECRET_LENGTH + CHECKSUM_LENGTH}})$`);

export interface ParsedKey {
  publicId: string;
  /** Display prefix (`sk_<public id>`): safe to show and to log, identifies the key. */
  prefix: string;
}

export function generateKey(): { key: string; publicId: string; prefix: string } {
  const publicId = randomBase62(PUBLIC_ID_LENGTH);
  return { key: formatKey(publicId, randomBase62(SECRET_LENGTH)), publicId, prefix: `sk_${publicId}` };
}

/** Assembles a well-formed key (with its checksum) from a public id and a 32-character secret. */
export function formatKey(publicId: string, secret: string): string {
  const body = `sk_${publicId}_${secret}`;
  return body + checksum(body);
}

/** Returns the key's public id when it is well-formed with a valid checksum, else undefined. */
export function parseKey(presented: string): ParsedKey | undefined {
  const match = KEY_PATTERN.exec(presented);
  if (!match) return undefined;
  const body = presented.slice(0, -CHECKSUM_LENGTH);
  if (checksum(body) !== presented.slice(-CHECKSUM_LENGTH)) return undefined;
  const publicId = match[1] as string;
  return { publicId, prefix: `sk_${publicId}` };
}

function checksum(text: string): string {
  let n = crc32(text);
  let out = '';
  for (let i = 0; i < CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      // Reject bytes ≥ 248 so every character is equally likely (248 = 4 × 62).
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}
