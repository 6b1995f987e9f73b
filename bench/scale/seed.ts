import { createHash } from 'node:crypto';
import pg from 'pg';
import { connectionAad } from '../../src/connections/connect-flow.js';
import type { Cipher } from '../../src/crypto/cipher.js';
import type { MintedBenchKey } from './mint.js';

/** The provider every seeded user is connected to (an API-key upstream: bench/scale/upstream.ts). */
export const SCALE_PROVIDER = 'scale';
const BATCH = 5_000;
/** Users who never call still have a key row; none of them is ever verified, so they share one hash. */
const IDLE_HASH = '$2b$10$abcdefghijklmnopqrstuuBENCHIDLEKEYHASHnotusablexxxxxxx';
const SCOPES = ['tools:read', 'tools:write'];

/** Seeded user n has a fixed id, so runs agree on who is who without reading anything back. */
export function userIdOf(n: number): string {
  const h = createHash('md5').update(`scale-user-${n}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * N users at rest, each with a key row and a connected account (the upstream key encrypted as the
 * server stores it); users 0…K−1 own the minted keys. Idempotent and incremental: what is there
 * is kept, so a later run with more minted keys only adds those.
 */
export async function seed(url: string, cipher: Cipher, n: number, minted: readonly MintedBenchKey[], log: (line: string) => void): Promise<void> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const have = Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM users WHERE name LIKE 'scale-%'")).rows[0]?.n ?? 0);
    if (have < n) {
      log(`seeding ${n - have} users with a key row and a connection each…`);
      const started = performance.now();
      for (let from = have; from < n; from += BATCH) {
        const ids: string[] = [];
        const names: string[] = [];
        const tokens: string[] = [];
        for (let i = from; i < Math.min(n, from + BATCH); i++) {
          const id = userIdOf(i);
          ids.push(id);
          names.push(`scale-${i}`);
          tokens.push(cipher.encrypt(`up-${i}`, connectionAad(id, SCALE_PROVIDER)));
        }
        await db.query('BEGIN');
        await db.query('INSERT INTO users (id, name) SELECT * FROM unnest($1::uuid[], $2::text[]) ON CONFLICT DO NOTHING', [ids, names]);
        await db.query(
          `INSERT INTO api_keys (user_id, public_id, name, secret_hash, scopes)
           SELECT u, 'idle' || md5(u::text), 'idle', $2, $3 FROM unnest($1::uuid[]) u ON CONFLICT DO NOTHING`,
          [ids, IDLE_HASH, SCOPES],
        );
        await db.query(
          `INSERT INTO connections (user_id, provider_id, access_token_enc, scopes)
           SELECT u, $3, t, '{}' FROM unnest($1::uuid[], $2::text[]) AS x(u, t) ON CONFLICT DO NOTHING`,
          [ids, tokens, SCALE_PROVIDER],
        );
        await db.query('COMMIT');
      }
      log(`seeded in ${Math.round(performance.now() - started)} ms`);
    }
    const known = new Set((await db.query<{ public_id: string }>("SELECT public_id FROM api_keys WHERE name = 'bench'")).rows.map((r) => r.public_id));
    const missing = minted.map((k, i) => ({ ...k, i })).filter((k) => !known.has(k.publicId));
    for (let from = 0; from < missing.length; from += BATCH) {
      const slice = missing.slice(from, from + BATCH);
      await db.query(
        `INSERT INTO api_keys (user_id, public_id, name, secret_hash, scopes)
         SELECT u, p, 'bench', h, $4 FROM unnest($1::uuid[], $2::text[], $3::text[]) AS x(u, p, h)`,
        [slice.map((k) => userIdOf(k.i)), slice.map((k) => k.publicId), slice.map((k) => k.secretHash), SCOPES],
      );
    }
    if (missing.length > 0) log(`stored ${missing.length} minted keys`);
    await db.query('ANALYZE');
  } finally {
    await db.end();
  }
}
