import type { Actor } from '../auth/actor.js';
import type { Cipher } from '../crypto/cipher.js';
import type { Deadline } from '../outbound/deadline.js';
import type { ConnectionRepository } from './connection-repository.js';
import type { ProviderDefinition } from '../providers/schema.js';
import { NotConnectedError, type AccessTokenSource } from './access-tokens.js';
import { keyCredentials, keyInUse, type KeySource } from './api-keys.js';
import { setKeyInstructions } from './connect-instructions.js';

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
  /**
   * Credentials for a call as `userId`; throws NotConnectedError saying how to connect or set a key.
   * A refresh this needs ends by `deadline` (the tool call's).
   */
  get(userId: string, provider: ProviderDefinition, actor: Actor, deadline?: Deadline): Promise<UpstreamCredentials>;
  /**
   * After the upstream answered 401 to `rejected`: credentials to retry once with, or undefined when
   * a retry cannot help (an API key does not change by asking again).
   */
  renewAfterRejection(
    userId: string,
    provider: ProviderDefinition,
    rejected: UpstreamCredentials,
    actor: Actor,
    deadline?: Deadline,
  ): Promise<UpstreamCredentials | undefined>;
}

/** OAuth providers through the access-token source (refresh included); API-key providers through the stored key or the fallback. */
export function createCredentialSource(deps: { connections: Pick<ConnectionRepository, 'find'>; cipher: Cipher; tokens: AccessTokenSource; publicUrl: string }): CredentialSource {
  const bearer = (token: string): UpstreamCredentials => ({ headers: { authorization: `Bearer ${token}` }, query: {}, source: 'oauth', secret: token });

  return {
    async get(userId, provider, actor, deadline) {
      if (provider.auth === 'oauth2') return bearer(await deps.tokens.get(userId, provider, actor, deadline));
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

    async renewAfterRejection(userId, provider, rejected, actor, deadline) {
      if (provider.auth !== 'oauth2') return undefined;
      return bearer(await deps.tokens.refreshAfterRejection(userId, provider, rejected.secret, actor, deadline));
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
