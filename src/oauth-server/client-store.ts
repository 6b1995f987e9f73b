import type { Queryable } from '../db/pool.js';

export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';

/** A stored client; the secret hash is read only by `findClientSecretHash`. */
export interface StoredClient {
  clientId: string;
  tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  redirectUris: string[];
  grantTypes: string[];
  clientName: string | null;
  metadata: Record<string, unknown>;
  source: 'dynamic' | 'operator';
  createdAt: Date;
}

interface Row {
  client_id: string;
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  redirect_uris: string[];
  grant_types: string[];
  client_name: string | null;
  metadata: Record<string, unknown>;
  source: 'dynamic' | 'operator';
  created_at: Date;
}

const COLUMNS = 'client_id, token_endpoint_auth_method, redirect_uris, grant_types, client_name, metadata, source, created_at';

function toClient(row: Row): StoredClient {
  return {
    clientId: row.client_id,
    tokenEndpointAuthMethod: row.token_endpoint_auth_method,
    redirectUris: row.redirect_uris,
    grantTypes: row.grant_types,
    clientName: row.client_name,
    metadata: row.metadata,
    source: row.source,
    createdAt: row.created_at,
  };
}

export async function insertClient(
  db: Queryable,
  c: Omit<StoredClient, 'createdAt'> & { clientSecretHash: Buffer | null },
): Promise<StoredClient> {
  const { rows } = await db.query<Row>(
    `INSERT INTO oauth_clients (client_id, client_secret_hash, token_endpoint_auth_method, redirect_uris, grant_types, client_name, metadata, source)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    [c.clientId, c.clientSecretHash, c.tokenEndpointAuthMethod, c.redirectUris, c.grantTypes, c.clientName, c.metadata, c.source],
  );
  return toClient(rows[0] as Row);
}

export async function findClient(db: Queryable, clientId: string): Promise<StoredClient | undefined> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM oauth_clients WHERE client_id = $1`, [clientId]);
  return rows[0] ? toClient(rows[0]) : undefined;
}

/** What client authentication needs: the secret's hash (null for public clients) and the allowed grants. */
export async function findClientCredentials(db: Queryable, clientId: string): Promise<{ secretHash: Buffer | null; grantTypes: string[] } | undefined> {
  const { rows } = await db.query<{ client_secret_hash: Buffer | null; grant_types: string[] }>(
    'SELECT client_secret_hash, grant_types FROM oauth_clients WHERE client_id = $1',
    [clientId],
  );
  const row = rows[0];
  return row ? { secretHash: row.client_secret_hash, grantTypes: row.grant_types } : undefined;
}
