import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for secrets at rest (upstream tokens, PKCE verifiers).
 *
 * Format: `v1.<keyId>.<base64url(iv ‖ tag ‖ ciphertext)>`. The key id (first 8 hex chars of
 * SHA-256 of the key) lets a future key rotation decrypt old rows with the old key while new
 * rows use the new one; it reveals nothing usable about the key. A fresh random 12-byte IV per
 * message is what GCM needs: reusing an IV under one key breaks both secrecy and integrity.
 */
export interface Cipher {
  /** The id of the key new ciphertexts are written with. */
  readonly keyId: string;
  /** The ids of every key this cipher can decrypt with (the current one first). */
  readonly keyIds: readonly string[];
  encrypt(plaintext: string, associatedData?: string): string;
  decrypt(ciphertext: string, associatedData?: string): string;
}

/** A ciphertext written with a key this process does not have (see ENCRYPTION_KEYS). */
export class UnknownKeyError extends Error {
  override name = 'UnknownKeyError';
  constructor(readonly keyId: string) {
    super(`No encryption key with id ${keyId} is configured: add the key that wrote it to ENCRYPTION_KEYS (key ids are the first 8 hex digits of SHA-256 of the key)`);
  }
}

/** The key id a ciphertext names (its second dot-separated part), or undefined when it is not one of ours. */
export function keyIdOfCiphertext(ciphertext: string): string | undefined {
  const [version, id] = ciphertext.split('.');
  return version === 'v1' && id ? id : undefined;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * @param current key for new ciphertexts (32 bytes)
 * @param previous older keys that may still be needed to read existing rows
 */
export function createCipher(current: Buffer, previous: Buffer[] = []): Cipher {
  for (const key of [current, ...previous]) {
    if (key.length !== 32) throw new Error('AES-256-GCM keys are 32 bytes');
  }
  const keys = new Map([current, ...previous].map((key) => [keyIdOf(key), key]));
  const keyId = keyIdOf(current);

  return {
    keyId,
    keyIds: [...keys.keys()],
    encrypt(plaintext, associatedData) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      // Associated data binds a ciphertext to its row (e.g. user id), so a value copied
      // into another user's row fails to decrypt instead of silently working.
      if (associatedData !== undefined) cipher.setAAD(Buffer.from(associatedData, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `v1.${keyId}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
    },
    decrypt(ciphertext, associatedData) {
      const [version, id, payload, ...rest] = ciphertext.split('.');
      if (version !== 'v1' || !id || !payload || rest.length > 0) throw new Error('Unrecognised ciphertext format');
      const key = keys.get(id);
      // Loud on purpose: a missing key means a rotation dropped a key too early, never "no value".
      if (!key) throw new UnknownKeyError(id);
      const raw = Buffer.from(payload, 'base64url');
      if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('Ciphertext is truncated');
      // Pin the tag length: by default Node accepts tags as short as 4 bytes, which would let a
      // forger succeed in about 2^32 tries instead of 2^128.
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      if (associatedData !== undefined) decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    },
  };
}
