import { keyIdOfCiphertext, type Cipher } from '../../crypto/cipher.js';
import { withTransaction, type Pool } from '../../db/pool.js';
import { parseOptions, positiveInt, type AdminCommand } from './command.js';
import { SECRET_TABLES, type SecretTable } from './stored-secrets.js';

const DEFAULT_BATCH = 100;
/** Rows another transaction holds (a token refresh in progress) are skipped, then retried this long. */
const DEFAULT_WAIT_SECONDS = 15;

interface PassResult {
  moved: number;
  failed: string[];
}

const quoted = (name: string): string => `"${name}"`;

/**
 * One pass over a table in primary-key order, `batch` rows per transaction. Each batch locks its
 * rows (`FOR UPDATE SKIP LOCKED`), so a server refreshing a token on the same row either waits
 * for the batch to commit or is skipped by it; nothing is ever written over a newer value, and a
 * crash loses at most the batch in flight (its rows keep their old, still readable, ciphertext).
 */
async function pass(pool: Pool, cipher: Cipher, spec: SecretTable, batch: number): Promise<PassResult> {
  const current = `v1.${cipher.keyId}.%`;
  const key = spec.key.map(quoted).join(', ');
  const stale = spec.columns.map((c) => `(${quoted(c)} IS NOT NULL AND ${quoted(c)} NOT LIKE $1)`).join(' OR ');
  const select = [...spec.key, ...spec.context, ...spec.columns].map(quoted).join(', ');
  const result: PassResult = { moved: 0, failed: [] };
  let cursor: unknown[] | undefined;
  for (;;) {
    const after = cursor ? `AND (${key}) > (${spec.key.map((_, i) => `$${i + 3}`).join(', ')})` : '';
    const rows = await withTransaction(pool, async (tx) => {
      const { rows } = await tx.query<Record<string, unknown>>(
        `SELECT ${select} FROM ${quoted(spec.table)} WHERE (${stale}) ${after} ORDER BY ${key} LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [current, batch, ...(cursor ?? [])],
      );
      for (const row of rows) {
        const aad = spec.aad(row);
        let values: Array<string | null>;
        try {
          values = spec.columns.map((c) => {
            const old = row[c] as string | null;
            return old === null || keyIdOfCiphertext(old) === cipher.keyId ? old : cipher.encrypt(cipher.decrypt(old, aad), aad);
          });
        } catch (err) {
          // Unknown key or a value that does not decrypt: reported by identity, never by content.
          result.failed.push(`${spec.table} ${spec.key.map((k) => describe(row[k])).join(' ')}: ${(err as Error).message}`);
          continue;
        }
        const sets = spec.columns.map((c, i) => `${quoted(c)} = $${i + 1}`).join(', ');
        const where = spec.key.map((k, i) => `${quoted(k)} = $${spec.columns.length + i + 1}`).join(' AND ');
        await tx.query(`UPDATE ${quoted(spec.table)} SET ${sets} WHERE ${where}`, [...values, ...spec.key.map((k) => row[k])]);
        result.moved += 1;
      }
      return rows;
    });
    const last = rows.at(-1);
    if (!last) return result;
    cursor = spec.key.map((k) => last[k]);
  }
}

function describe(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString('hex').slice(0, 16) : String(value);
}

/** Values in the table not yet under the current key, rows held by others included. */
async function remaining(pool: Pool, cipher: Cipher, spec: SecretTable): Promise<number> {
  const stale = spec.columns.map((c) => `(${quoted(c)} IS NOT NULL AND ${quoted(c)} NOT LIKE $1)`).join(' OR ');
  const { rows } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${quoted(spec.table)} WHERE ${stale}`, [`v1.${cipher.keyId}.%`]);
  return Number(rows[0]?.n ?? 0);
}

/** Moves every stored secret to the cipher's current key; returns what is still left elsewhere. */
export async function reencryptAll(
  pool: Pool,
  cipher: Cipher,
  options: { batch: number; waitSeconds: number; out(line: string): void },
): Promise<{ moved: number; left: number; failed: string[] }> {
  let moved = 0;
  let left = 0;
  const failed: string[] = [];
  for (const spec of SECRET_TABLES) {
    const deadline = Date.now() + options.waitSeconds * 1000;
    let tableMoved = 0;
    let tableFailed: string[] = [];
    let tableLeft = 0;
    for (;;) {
      const r = await pass(pool, cipher, spec, options.batch);
      tableMoved += r.moved;
      tableFailed = r.failed;
      tableLeft = await remaining(pool, cipher, spec);
      // Done, or only values that cannot be moved are left, or locked rows outlasted the wait.
      if (tableLeft === 0 || tableLeft <= tableFailed.length || Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    options.out(`${spec.table}: ${tableMoved} rows moved to key ${cipher.keyId}, ${tableLeft} left under other keys`);
    moved += tableMoved;
    left += tableLeft;
    failed.push(...tableFailed);
  }
  return { moved, left, failed };
}

const USAGE = '[--batch-size <n>] [--wait-seconds <n>]';

/** `reencrypt`: every stored secret to the first key of ENCRYPTION_KEYS (see docs/operations.md). */
export const reencryptCommand: AdminCommand = {
  name: 'reencrypt',
  summary: 'move every stored secret to the first key of ENCRYPTION_KEYS (resumable, safe while servers run)',
  usage: USAGE,
  async run(ctx, args) {
    const { values } = parseOptions(args, { 'batch-size': { type: 'string' }, 'wait-seconds': { type: 'string' } });
    const batch = positiveInt(values['batch-size'], '--batch-size') ?? DEFAULT_BATCH;
    const waitSeconds = positiveInt(values['wait-seconds'], '--wait-seconds') ?? DEFAULT_WAIT_SECONDS;
    if (!ctx.cipher) throw new Error('reencrypt needs the configured encryption keys');
    const cipher = await ctx.cipher();
    const { moved, left, failed } = await reencryptAll(ctx.pool, cipher, { batch, waitSeconds, out: ctx.out });
    for (const line of failed) ctx.out(`could not move: ${line}`);
    ctx.out(left === 0 ? `done: ${moved} rows moved; every secret is under key ${cipher.keyId}` : `${left} values are still under other keys; run reencrypt again`);
    return left === 0 ? 0 : 1;
  },
};
