import { withTransaction, type Pool, type Queryable } from '../db/pool.js';
import { insertUser } from '../users/user-store.js';

/** Who the IdP says a person is: (issuer, subject) identifies them; name and e-mail are shown. */
export interface IdpIdentity {
  issuer: string;
  subject: string;
  name: string | undefined;
  email: string | undefined;
}

export interface IdentityUser {
  userId: string;
  disabled: boolean;
}

/**
 * The user an IdP identity belongs to, created on first sight. Two first requests of one person
 * at once create one user: the insert runs under an advisory lock on (issuer, subject), like the
 * upstream sign-in's userForAccount. A changed name or e-mail claim is written back.
 */
export async function userForIdentity(pool: Pool, identity: IdpIdentity): Promise<IdentityUser> {
  const found = await findIdentityUser(pool, identity);
  if (found) {
    if (found.name !== clip(identity.name, 100) || found.email !== clip(identity.email, 320)) await updateClaims(pool, identity);
    return { userId: found.userId, disabled: found.disabled };
  }
  return withTransaction(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`idp:${identity.issuer}:${identity.subject}`]);
    const raced = await findIdentityUser(tx, identity);
    if (raced) return { userId: raced.userId, disabled: raced.disabled };
    const displayName = clip(identity.name, 100) ?? clip(identity.email, 100) ?? identity.subject.slice(0, 100);
    const user = await insertUser(tx, displayName);
    await tx.query(
      'INSERT INTO user_identities (issuer, subject, user_id, email, name) VALUES ($1, $2, $3, $4, $5)',
      [identity.issuer, identity.subject, user.id, clip(identity.email, 320), clip(identity.name, 100)],
    );
    return { userId: user.id, disabled: false };
  });
}

async function findIdentityUser(db: Queryable, identity: IdpIdentity): Promise<(IdentityUser & { name: string | null; email: string | null }) | undefined> {
  const { rows } = await db.query<{ user_id: string; disabled: boolean; name: string | null; email: string | null }>(
    `SELECT i.user_id, u.disabled_at IS NOT NULL AS disabled, i.name, i.email
       FROM user_identities i JOIN users u ON u.id = i.user_id
      WHERE i.issuer = $1 AND i.subject = $2`,
    [identity.issuer, identity.subject],
  );
  const row = rows[0];
  return row ? { userId: row.user_id, disabled: row.disabled, name: row.name, email: row.email } : undefined;
}

async function updateClaims(db: Queryable, identity: IdpIdentity): Promise<void> {
  await db.query('UPDATE user_identities SET name = $3, email = $4 WHERE issuer = $1 AND subject = $2', [
    identity.issuer,
    identity.subject,
    clip(identity.name, 100),
    clip(identity.email, 320),
  ]);
}

/** Claims are the IdP's text, not ours: cut to the column's limit rather than refuse the person. */
function clip(value: string | undefined, max: number): string | null {
  return value === undefined || value === '' ? null : value.slice(0, max);
}
