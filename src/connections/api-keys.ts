import type { Cipher } from '../crypto/cipher.js';
import type { Pool } from '../db/pool.js';
import { InvalidRequestError, NotFoundError, UpstreamUnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import { upstreamTimedOut } from '../outbound/exchange.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ApiKeyProviderDefinition } from '../providers/schema.js';
import { sendUpstream } from '../upstreams/rest/send-request.js';
import { connectionAad } from './connect-flow.js';
import type { ConnectionRepository } from './connection-repository.js';
import type { ConnectionRow } from './connection-store.js';

/** Reads a user's connection row (from the database, or the tool-call cache). */
export type ConnectionFinder = (userId: string, providerId: string) => Promise<ConnectionRow | undefined>;

/**
 * Upstreams that take a per-account API key instead of OAuth. The user's key is stored like an
 * OAuth access token (AES-256-GCM, same row shape, same associated data); without one, the
 * provider's `fallback_key` (the operator's) serves.
 */

/** A validation request must not hold a PUT for as long as a tool call may take. */
const VALIDATE_TIMEOUT_MS = 10_000;
/** Below this length, even the last four characters give away too much of a key. */
const MIN_LENGTH_FOR_LAST4 = 8;

export type KeySource = 'user' | 'fallback';

/** The key a user's calls to a provider use, and whose it is. */
export interface KeyInUse {
  key: string;
  source: KeySource;
  connectedAt: Date | null;
}

/** The upstream refused the key on the validation request. */
export class InvalidApiKeyError extends InvalidRequestError {
  constructor(description: string) {
    super(description, 'invalid_api_key');
  }
}

export interface ApiKeyDeps {
  pool: Pool;
  connections: ConnectionRepository;
  cipher: Cipher;
  registry: ProviderRegistry;
  log: Logger;
}

export function apiKeyProvider(registry: ProviderRegistry, providerId: string): ApiKeyProviderDefinition {
  const provider = registry.provider(providerId);
  if (!provider) throw new NotFoundError(`Unknown provider "${providerId}".`);
  if (provider.auth !== 'api_key') {
    throw new InvalidRequestError(`${provider.name} uses OAuth, not API keys: connect it with GET /api/connect/${provider.id}/start.`);
  }
  return provider;
}

/** How `key` travels to the provider: one header (from its template) or one query parameter. */
export function keyCredentials(provider: ApiKeyProviderDefinition, key: string): { headers: Record<string, string>; query: Record<string, string> } {
  const how = provider.api_key;
  if ('query' in how) return { headers: {}, query: { [how.query]: key } };
  // split/join, not String.replace: a key containing "$&" or "$'" would be rewritten by replace.
  return { headers: { [how.header.toLowerCase()]: how.template.split('{key}').join(key) }, query: {} };
}

/**
 * The user's own key when they set one, else the operator's fallback, else undefined.
 * `find` reads the connection: the database, or the tool-call cache (connection-repository.ts).
 */
export async function keyInUse(find: ConnectionFinder, cipher: Cipher, userId: string, provider: ApiKeyProviderDefinition): Promise<KeyInUse | undefined> {
  const row = await find(userId, provider.id);
  if (row) return { key: cipher.decrypt(row.accessTokenEnc, connectionAad(userId, provider.id)), source: 'user', connectedAt: row.connectedAt };
  if (provider.fallback_key) return { key: provider.fallback_key, source: 'fallback', connectedAt: null };
  return undefined;
}

/** What `status` shows of a key: never more than its last four characters, and nothing of the operator's. */
export function last4(used: KeyInUse): string | null {
  if (used.source !== 'user' || used.key.length < MIN_LENGTH_FOR_LAST4) return null;
  return used.key.slice(-4);
}

/**
 * Checks the key against the provider's `validate` request (when it has one), then stores it
 * encrypted, replacing any earlier key. A refused key stores nothing and leaves an earlier key in place.
 */
export async function setApiKey(deps: ApiKeyDeps, userId: string, providerId: string, key: string): Promise<void> {
  const provider = apiKeyProvider(deps.registry, providerId);
  if (provider.validate) await validateKey(provider, provider.validate, key);
  const aad = connectionAad(userId, provider.id);
  await deps.connections.upsert(deps.pool, {
    userId,
    providerId: provider.id,
    accountId: null,
    scopes: [],
    accessTokenEnc: deps.cipher.encrypt(key, aad),
    refreshTokenEnc: null,
    issuedAt: new Date(),
    expiresAt: null,
  });
  deps.log.info({ provider: provider.id, validated: Boolean(provider.validate) }, 'API key set');
}

async function validateKey(provider: ApiKeyProviderDefinition, check: NonNullable<ApiKeyProviderDefinition['validate']>, key: string): Promise<void> {
  const base = new URL(provider.api_base_url);
  const url = new URL(`${base.origin}${base.pathname.replace(/\/+$/, '')}${check.path}`);
  const what = `${check.method} ${check.path}`;
  let status: number;
  try {
    ({ status } = await sendUpstream(provider, { url, method: check.method, body: undefined }, keyCredentials(provider, key), VALIDATE_TIMEOUT_MS));
  } catch (err) {
    // Only the kind of failure is reported: the error could name the URL, which may carry the key.
    const reason = upstreamTimedOut(err) ? `did not answer within ${VALIDATE_TIMEOUT_MS / 1000} s` : 'could not be reached';
    throw new UpstreamUnavailableError(`${provider.name} ${reason} to check the key (${what}). Nothing was stored; try again later.`);
  }
  if (status === 401 || status === 403) {
    throw new InvalidApiKeyError(`${provider.name} refused this API key (HTTP ${status} on ${what}). Nothing was stored; check the key and try again.`);
  }
  if (status < 200 || status > 299) {
    throw new UpstreamUnavailableError(`${provider.name} answered HTTP ${status} to the key check (${what}), so the key could not be verified. Nothing was stored; try again later.`);
  }
}
