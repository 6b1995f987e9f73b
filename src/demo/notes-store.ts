import type { Queryable } from '../db/pool.js';

/** The demo API's data: short notes, each owned by one demo account. */
export interface DemoNote {
  id: string;
  text: string;
  created_at: string;
}

/** Keeps a public demo instance from being used as free storage. */
export const MAX_NOTES_PER_ACCOUNT = 100;
export const MAX_NOTE_LENGTH = 1000;
/** Any name is an account, so a cap per account alone would not bound a public instance (DEMO=true). */
export const MAX_NOTES_TOTAL = 10_000;

export async function listNotes(db: Queryable, account: string): Promise<DemoNote[]> {
  const { rows } = await db.query<{ id: string; text: string; created_at: Date }>(
    `SELECT id, text, created_at FROM demo_notes WHERE account = $1 ORDER BY id`,
    [account],
  );
  return rows.map(toNote);
}

export async function findNote(db: Queryable, account: string, id: string): Promise<DemoNote | undefined> {
  const { rows } = await db.query<{ id: string; text: string; created_at: Date }>(
    `SELECT id, text, created_at FROM demo_notes WHERE account = $1 AND id = $2`,
    [account, id],
  );
  return rows[0] && toNote(rows[0]);
}

/** undefined when the account already holds MAX_NOTES_PER_ACCOUNT notes, or the demo MAX_NOTES_TOTAL. */
export async function addNote(db: Queryable, account: string, text: string): Promise<DemoNote | undefined> {
  // One statement, so two concurrent adds cannot both slip under a cap by much.
  const { rows } = await db.query<{ id: string; text: string; created_at: Date }>(
    `INSERT INTO demo_notes (account, text)
     SELECT $1, $2 WHERE (SELECT count(*) FROM demo_notes WHERE account = $1) < $3
                     AND (SELECT count(*) FROM demo_notes) < $4
     RETURNING id, text, created_at`,
    [account, text, MAX_NOTES_PER_ACCOUNT, MAX_NOTES_TOTAL],
  );
  return rows[0] && toNote(rows[0]);
}

export async function deleteNote(db: Queryable, account: string, id: string): Promise<boolean> {
  const result = await db.query(`DELETE FROM demo_notes WHERE account = $1 AND id = $2`, [account, id]);
  return (result.rowCount ?? 0) > 0;
}

function toNote(row: { id: string; text: string; created_at: Date }): DemoNote {
  return { id: String(row.id), text: row.text, created_at: row.created_at.toISOString() };
}
