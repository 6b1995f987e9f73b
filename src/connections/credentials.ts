import type { Actor } from '../auth/actor.js';
import type { Cipher } from '../crypto/cipher.js';
import type { ConnectionReader } from './connection-cache.js';
import type { ApiKeyProviderDefinition, ProviderDefinition } from '../providers/schema.js';
import { NotConnectedError, type AccessTokenSource } from './access-tokens.js';
import { keyCredentials, keyInUse, type KeySource } from './api-keys.js';

/** What one upstream request carries to act as a user, whatever the provider's kind of auth. */
export interface UpstreamCredentials {
  headers: Record<string, string>;
  query: Record<string, string>;
  /** `oauth`: the user's access token; `user`: their own API key; `fallback`: the operator's key; `none`: nothing (an open MCP server). */
  source: 'oauth' | 'none' | KeySource;
  /** The secret itself, so anything shown to the caller can be scrubbed of it (upstreams echo bad keys). */
  secret: string;
}

export interface CredentialSource {
  /** Credentials for a call as `userId`; throws NotConnectedError saying how to connect or set a key. */
  get(userId: string, provider: ProviderDefinition, actor: Actor): Promise<UpstreamCredentials>;
  /**
   * After the upstream answered 401 to `rejected`: credentials to retry once with, or undefined when
   * a retry cannot help (an API key does not change by asking again).
   */
  renewAfterRejection(userId: string, provider: ProviderDefinition, rejected: UpstreamCredentials, actor: Actor): Promise<UpstreamCredentials | undefined>;
}

/** How a user sets (or replaces) their key; used wherever a call needs one. */
export function setKeyInstructions(publicUrl: string, provider: ApiKeyProviderDefinition): string {
  return `send PUT ${publicUrl}/api/connect/${provider.id}/key with the JSON body {"api_key": "<your ${provider.name} API key>"}, authenticated with your API key for this server`;
}

/** OAuth providers through the access-token source (refresh included); API-key providers through the stored key or the fallback. */
export function createCredentialSource(deps: { connections: ConnectionReader; cipher: Cipher; tokens: AccessTokenSource; publicUrl: string }): CredentialSource {
  const bearer = (token: string): UpstreamCredentials => ({ headers: { authorization: `Bearer ${token}` }, query: {}, source: 'oauth', secret: token });

  return {
    async get(userId, provider, actor) {
      if (provider.auth === 'oauth2') return bearer(await deps.tokens.get(userId, provider, actor));
      if (provider.auth === 'none') return { headers: {}, query: {}, source: 'none', secret: '' };
      const used = await keyInUse(deps.connections.find, deps.cipher, userId, provider);
      if (!used) {
        throw new NotConnectedError('not_connected', `You have not set a ${provider.name} API key yet. To set one, ${setKeyInstructions(deps.publicUrl, provider)}.`);
      }
      // Built field by field: on Node 20 `{ ...spread, newField }` per call is several times slower
      // and makes V8 promote the call's objects (see docs/performance.md).
      const { headers, query } = keyCredentials(provider, used.key);
      return { headers, query, source: used.source, secret: used.key };
    },

    async renewAfterRejection(userId, provider, rejected, actor) {
      if (provider.auth !== 'oauth2') return undefined;
      return bearer(await deps.tokens.refreshAfterRejection(userId, provider, rejected.secret, actor));
    },
  };
}

/** Replaces every occurrence of the secret (raw and URL-encoded) in text shown to the caller. */
export function scrubSecret(text: string, secret: string): string {
  // Shorter "secrets" would mangle ordinary text; real keys and tokens are far longer.
  if (secret.length < 8) return text;
  let out = text.split(secret).join('[redacted]');
  const encoded = encodeURIComponent(secret);
  if (encoded !== secret) out = out.split(encoded).join('[redacted]');
  return out;
}
