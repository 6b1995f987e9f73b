import { z } from 'zod';
import type { Queryable } from '../db/pool.js';
import { insertClient, type StoredClient, type TokenEndpointAuthMethod } from './client-store.js';
import { InvalidClientMetadataError, InvalidRedirectUriError } from './errors.js';
import { redirectUriProblem } from './redirect-uris.js';
import { newSecret, sha256 } from '../crypto/secrets.js';

const MAX_REDIRECT_URIS = 10;
const GRANT_TYPES = ['authorization_code', 'refresh_token'] as const;

const optionalUrl = z.url({ protocol: /^https?$/ }).max(2000).optional();

/**
 * RFC 7591 §2 client metadata. Unknown members are ignored, as §3.2.1 asks; the known ones are
 * checked strictly and echoed back. Two choices differ from the RFC's defaults, because MCP
 * clients rely on them: `grant_types` defaults to both grants we support (a client that omits it
 * still expects refresh tokens), and a client that names no auth method gets `none` only when it
 * says so — otherwise `client_secret_basic`, the RFC default, with a secret.
 */
export const ClientMetadataSchema = z.looseObject({
  redirect_uris: z.array(z.string()).min(1, 'at least one redirect URI is required').max(MAX_REDIRECT_URIS),
  token_endpoint_auth_method: z.enum(['none', 'client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
  grant_types: z.array(z.enum(GRANT_TYPES)).min(1).default([...GRANT_TYPES]),
  response_types: z.array(z.literal('code')).min(1).default(['code']),
  client_name: z.string().trim().min(1).max(200).optional(),
  client_uri: optionalUrl,
  logo_uri: optionalUrl,
  tos_uri: optionalUrl,
  policy_uri: optionalUrl,
  scope: z.string().max(1000).optional(),
  contacts: z.array(z.string().max(320)).max(10).optional(),
  software_id: z.string().max(200).optional(),
  software_version: z.string().max(100).optional(),
});
export type ClientMetadata = z.output<typeof ClientMetadataSchema>;

const ECHOED = ['client_name', 'client_uri', 'logo_uri', 'tos_uri', 'policy_uri', 'scope', 'contacts', 'software_id', 'software_version'] as const;

export interface RegisteredClient {
  client: StoredClient;
  /** Shown once (RFC 7591 §3.2.1); only its SHA-256 is stored. */
  clientSecret: string | undefined;
}

/** Parses registration metadata into the RFC 7591 error model. */
export function parseClientMetadata(input: unknown): ClientMetadata {
  const parsed = ClientMetadataSchema.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'metadata';
    const message = `${where}: ${issue?.message ?? 'invalid'}`;
    if (issue?.path[0] === 'redirect_uris') throw new InvalidRedirectUriError(message);
    throw new InvalidClientMetadataError(message);
  }
  for (const uri of parsed.data.redirect_uris) {
    const problem = redirectUriProblem(uri);
    if (problem) throw new InvalidRedirectUriError(`redirect_uris: ${JSON.stringify(uri.slice(0, 200))} ${problem}`);
  }
  return parsed.data;
}

/** Registers a client (dynamically through POST /oauth/register, or by an operator through the CLI). */
export async function registerClient(db: Queryable, metadata: ClientMetadata, source: StoredClient['source']): Promise<RegisteredClient> {
  const method: TokenEndpointAuthMethod = metadata.token_endpoint_auth_method;
  const clientSecret = method === 'none' ? undefined : newSecret('mcp_cs_');
  const echoed: Record<string, unknown> = {};
  for (const key of ECHOED) if (metadata[key] !== undefined) echoed[key] = metadata[key];
  const client = await insertClient(db, {
    clientId: newSecret('mcp_client_').slice(0, 35),
    clientSecretHash: clientSecret ? sha256(clientSecret) : null,
    tokenEndpointAuthMethod: method,
    redirectUris: [...new Set(metadata.redirect_uris)],
    grantTypes: metadata.grant_types,
    clientName: metadata.client_name ?? null,
    metadata: echoed,
    source,
  });
  return { client, clientSecret };
}

/** The RFC 7591 §3.2.1 response body. */
export function registrationResponse({ client, clientSecret }: RegisteredClient): Record<string, unknown> {
  return {
    client_id: client.clientId,
    ...(clientSecret ? { client_secret: clientSecret, client_secret_expires_at: 0 } : {}),
    client_id_issued_at: Math.floor(client.createdAt.getTime() / 1000),
    redirect_uris: client.redirectUris,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod,
    grant_types: client.grantTypes,
    response_types: ['code'],
    ...client.metadata,
  };
}
