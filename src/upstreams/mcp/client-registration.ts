import { Agent } from 'undici';
import { z } from 'zod';
import type { Cipher } from '../../crypto/cipher.js';
import { withTransaction, type Pool, type Queryable } from '../../db/pool.js';
import { exchange } from '../../outbound/exchange.js';

/** The client this server acts as at one authorization server. */
export interface RegisteredClient {
  clientId: string;
  clientSecret: string | undefined;
  tokenAuth: 'client_secret_basic' | 'client_secret_post';
}

export class RegistrationError extends Error {
  override name = 'RegistrationError';
}

const agent = new Agent({ keepAliveTimeout: 10_000, connections: 8 });
const Registered = z.looseObject({ client_id: z.string().min(1), client_secret: z.string().min(1).optional(), token_endpoint_auth_method: z.string().optional() });

/** Binds a stored client secret to its (provider, issuer) row. */
export const registrationAad = (providerId: string, issuer: string): string => `mcp-client:${providerId}:${issuer}`;
const aad = registrationAad;

async function stored(db: Queryable, cipher: Cipher, providerId: string, issuer: string): Promise<RegisteredClient | undefined> {
  const { rows } = await db.query<{ client_id: string; client_secret_enc: string | null; token_auth: string }>(
    'SELECT client_id, client_secret_enc, token_auth FROM mcp_client_registrations WHERE provider_id = $1 AND issuer = $2',
    [providerId, issuer],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    clientId: row.client_id,
    clientSecret: row.client_secret_enc ? cipher.decrypt(row.client_secret_enc, aad(providerId, issuer)) : undefined,
    tokenAuth: row.token_auth === 'client_secret_basic' ? 'client_secret_basic' : 'client_secret_post',
  };
}

export interface RegistrationRequest {
  providerId: string;
  issuer: string;
  registrationEndpoint: string;
  redirectUri: string;
  clientName: string;
  scopes: readonly string[];
  timeoutMs: number;
}

/**
 * The registered client for (provider, issuer), registering it first when there is none. An
 * advisory lock on that pair makes concurrent first users — on any instance — wait for one
 * registration instead of each creating a client; the lock is held across one bounded request.
 */
export async function registeredClient(pool: Pool, cipher: Cipher, r: RegistrationRequest): Promise<RegisteredClient> {
  const known = await stored(pool, cipher, r.providerId, r.issuer);
  if (known) return known;
  return withTransaction(pool, async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`mcp-client-registration:${r.providerId}:${r.issuer}`]);
    const again = await stored(tx, cipher, r.providerId, r.issuer);
    if (again) return again;
    const client = await register(r);
    await tx.query(
      'INSERT INTO mcp_client_registrations (provider_id, issuer, client_id, client_secret_enc, token_auth) VALUES ($1, $2, $3, $4, $5)',
      [r.providerId, r.issuer, client.clientId, client.clientSecret ? cipher.encrypt(client.clientSecret, aad(r.providerId, r.issuer)) : null, client.tokenAuth],
    );
    return client;
  });
}

/** Forgets a registration the authorization server no longer knows (invalid_client), so the next use registers again. */
export async function forgetRegistration(db: Queryable, providerId: string, clientId: string): Promise<void> {
  // Only the rejected client: another instance may already have registered its successor.
  await db.query('DELETE FROM mcp_client_registrations WHERE provider_id = $1 AND client_id = $2', [providerId, clientId]);
}

/** RFC 7591 §3.1. */
async function register(r: RegistrationRequest): Promise<RegisteredClient> {
  const metadata: Record<string, unknown> = {
    client_name: r.clientName,
    redirect_uris: [r.redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  };
  if (r.scopes.length > 0) metadata.scope = r.scopes.join(' ');
  const res = await exchange(
    agent,
    { url: new URL(r.registrationEndpoint), method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(metadata) },
    { timeoutMs: r.timeoutMs, maxBytes: 64 * 1024 },
  );
  if (res.status !== 201 && res.status !== 200) throw new RegistrationError(`client registration answered HTTP ${res.status}`);
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    throw new RegistrationError('client registration did not answer JSON');
  }
  const parsed = Registered.safeParse(body);
  if (!parsed.success) throw new RegistrationError('client registration answered without a client_id');
  const method = parsed.data.token_endpoint_auth_method;
  return {
    clientId: parsed.data.client_id,
    clientSecret: parsed.data.client_secret,
    tokenAuth: method === 'client_secret_post' || !parsed.data.client_secret ? 'client_secret_post' : 'client_secret_basic',
  };
}
