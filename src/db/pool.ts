import pg from 'pg';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that can run a query: the pool, or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'>;

export function createPool(connectionString: string, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max,
    // Fail fast when the database is unreachable rather than queueing requests forever.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection emits 'error' on the pool; unhandled, it would crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/**
 * A client inside {@link withTransaction}. `afterCommit` defers work that must only happen once
 * the writes are visible to everyone (dropping a cached copy of a row): done earlier, a reader on
 * another connection could fetch the row as it was before the commit and cache that again.
 */
export interface Transaction extends Queryable {
  /** Runs `fn` once COMMIT has returned, never when the transaction rolls back. `fn` must not throw. */
  afterCommit(fn: () => void): void;
}

/** Runs `work` in one transaction; rolls back on any error and rethrows it. */
export async function withTransaction<T>(pool: pg.Pool, work: (tx: Transaction) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  const committed: Array<() => void> = [];
  const tx: Transaction = {
    query: client.query.bind(client) as Queryable['query'],
    afterCommit: (fn) => void committed.push(fn),
  };
  let result: T;
  try {
    await client.query('BEGIN');
    result = await work(tx);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
  for (const fn of committed) fn();
  return result;
}
