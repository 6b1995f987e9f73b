import { connectionAad, verifierAad } from '../../connections/connect-flow.js';
import { registrationAad } from '../../upstreams/mcp/client-registration.js';

/**
 * Every column that holds a ciphertext, with how its associated data is derived from the row.
 * A new encrypted column must be added here, or `reencrypt` would leave it under an old key
 * (test/ops/encryption-rotation.test.ts checks that every `*_enc` column is listed).
 */
export interface SecretTable {
  table: string;
  /** Primary key columns: batches walk the table in this order, and updates find rows by them. */
  key: readonly string[];
  /** Further columns the associated data needs. */
  context: readonly string[];
  /** The ciphertext columns (NULL allowed). */
  columns: readonly string[];
  aad(row: Record<string, unknown>): string;
}

export const SECRET_TABLES: readonly SecretTable[] = [
  {
    table: 'connections',
    key: ['user_id', 'provider_id'],
    context: [],
    columns: ['access_token_enc', 'refresh_token_enc'],
    aad: (row) => connectionAad(String(row.user_id), String(row.provider_id)),
  },
  {
    table: 'mcp_client_registrations',
    key: ['provider_id', 'issuer'],
    context: [],
    columns: ['client_secret_enc'],
    aad: (row) => registrationAad(String(row.provider_id), String(row.issuer)),
  },
  {
    // Short-lived (an IdP sign-in in progress), but a row may be mid-flight during a rotation.
    table: 'idp_logins',
    key: ['state_hash'],
    context: [],
    columns: ['code_verifier_enc'],
    aad: () => 'idp-login',
  },
  {
    table: 'oauth_states',
    key: ['state_hash'],
    context: ['user_id', 'authorization_request_id', 'web_binding_hash'],
    columns: ['code_verifier_enc'],
    aad: (row) =>
      verifierAad(
        (row.user_id as string | null) ?? null,
        (row.authorization_request_id as string | null) ?? null,
        (row.web_binding_hash as Buffer | null) ?? null,
      ),
  },
];
