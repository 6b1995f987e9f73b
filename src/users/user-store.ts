import type { Queryable } from '../db/pool.js';

export async function insertUser(db: Queryable, name: string | null): Promise<{ id: string }> {
  const { rows } = await db.query<{ id: string }>('INSERT INTO users (name) VALUES ($1) RETURNING id', [name]);
  return rows[0] as { id: string };
}
