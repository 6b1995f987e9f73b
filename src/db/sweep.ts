import type { Queryable } from './pool.js';

/** Rows per DELETE: a large backlog is cleared in short transactions, not one long one. */
export const SWEEP_BATCH = 1_000;

/**
 * Deletes the rows of `table` matching `where`, `batch` at a time, and returns how many went.
 * Every batch picks its rows with `FOR UPDATE SKIP LOCKED`, so several instances sweeping at
 * once never wait on each other (or on a request holding a row), and each row goes exactly once.
 * Rows are addressed by `ctid` (one TID scan), which works for any table and key.
 *
 * `table` and `where` are SQL from this program, never from input; values go in `params` ($1…).
 */
export async function sweep(db: Queryable, table: string, where: string, params: readonly unknown[] = [], batch = SWEEP_BATCH): Promise<number> {
  const limit = `$${params.length + 1}`;
  let total = 0;
  for (;;) {
    const { rowCount } = await db.query(
      `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${table} WHERE ${where} LIMIT ${limit} FOR UPDATE SKIP LOCKED))`,
      [...params, batch],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < batch) return total;
  }
}
