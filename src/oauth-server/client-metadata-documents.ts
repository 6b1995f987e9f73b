import { z } from 'zod';
import { publicAddressesOnly, type AddressPolicy } from '../outbound/address-policy.js';
import { redirectUriProblem } from './redirect-uris.js';
import { safeGet, SafeFetchError } from '../outbound/safe-get.js';

/**
 * Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, MCP SEP-991): a
 * client_id that is an https URL names a JSON document describing the client. Fetched on
 * demand, validated, cached per its HTTP caching headers within bounds.
 */

/** The draft recommends a small cap; real documents are well under 2 KB. */
const MAX_BYTES = 5 * 1024;
const TIMEOUT_MS = 5_000;
const CACHE_DEFAULT_SECONDS = 300;
const CACHE_MIN_SECONDS = 60;
const CACHE_MAX_SECONDS = 24 * 60 * 60;
const CACHE_MAX_ENTRIES = 1_000;

/** What the authorization server needs to know about a metadata-document client. */
export interface MetadataDocumentClient {
  clientId: string;
  clientName: string | null;
  redirectUris: string[];
  grantTypes: string[];
}

/** Options tests inject to reach a local HTTPS server; never taken from the environment. */
export interface ClientMetadataFetchOptions {
  /** Which resolved addresses may be fetched from; default: public unicast only. */
  addressPolicy?: AddressPolicy;
  /** Extra trusted CA certificates (PEM). */
  ca?: string | Buffer | Array<string | Buffer>;
}

export class ClientMetadataError extends Error {}

const Document = z.looseObject({
  client_id: z.string(),
  client_name: z.string().trim().min(1).max(200).optional(),
  redirect_uris: z.array(z.string()).min(1, 'redirect_uris must list at least one URI').max(20),
  grant_types: z.array(z.string()).optional(),
  response_types: z.array(z.string()).optional(),
  // Draft §4.1: there is no way to share a secret with a document client.
  token_endpoint_auth_method: z.string().optional(),
  client_secret: z.undefined({ error: 'must not contain client_secret' }).optional(),
});

/** True when `clientId` is meant as a metadata-document URL (rather than a registered id). */
export function looksLikeMetadataUrl(clientId: string): boolean {
  return clientId.startsWith('https://');
}

/** Draft §3: https, a path, no fragment, no credentials, no dot segments. */
export function metadataUrlProblem(clientId: string): string | undefined {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:') return 'must use https';
  if (url.pathname === '/' || url.pathname === '') return 'must have a path';
  if (clientId.includes('#')) return 'must not contain a fragment';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  const rawPath = clientId.slice(clientId.indexOf('/', 'https://'.length)).split('?')[0] ?? '';
  if (rawPath.split('/').some((segment) => segment === '.' || segment === '..' || /^%2e(%2e)?$/i.test(segment) || segment === '.%2e' || segment === '%2e.')) {
    return 'must not contain dot segments';
  }
  return undefined;
}

export interface ClientMetadataResolver {
  resolve(clientId: string): Promise<MetadataDocumentClient>;
}

export function createClientMetadataResolver(options: ClientMetadataFetchOptions = {}): ClientMetadataResolver {
  const cache = new Map<string, { client: MetadataDocumentClient; until: number }>();
  const inFlight = new Map<string, Promise<MetadataDocumentClient>>();

  async function fetchDocument(clientId: string): Promise<MetadataDocumentClient> {
    const problem = metadataUrlProblem(clientId);
    if (problem) throw new ClientMetadataError(`The client_id URL ${problem}.`);
    let response;
    try {
      response = await safeGet(new URL(clientId), {
        policy: options.addressPolicy ?? publicAddressesOnly,
        ca: options.ca,
        maxBytes: MAX_BYTES,
        timeoutMs: TIMEOUT_MS,
      });
    } catch (err) {
      if (err instanceof SafeFetchError) throw new ClientMetadataError(`The client's metadata document could not be fetched: ${err.message}.`);
      throw err;
    }
    // Draft §4: only a 200 with a JSON content type counts; redirects are not followed.
    if (response.status !== 200) throw new ClientMetadataError(`The client's metadata document answered HTTP ${response.status}.`);
    const type = String(response.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
      throw new ClientMetadataError("The client's metadata document is not served as JSON.");
    }
    let json: unknown;
    try {
      json = JSON.parse(response.body.toString('utf8'));
    } catch {
      throw new ClientMetadataError("The client's metadata document is not valid JSON.");
    }
    const client = validate(clientId, json);
    const seconds = cacheSeconds(response.headers['cache-control']);
    if (seconds > 0) remember(clientId, client, seconds);
    return client;
  }

  function remember(clientId: string, client: MetadataDocumentClient, seconds: number): void {
    if (cache.size >= CACHE_MAX_ENTRIES) {
      const oldest = cache.keys().next().value;
      if (oldest !== undefined) cache.delete(oldest);
    }
    cache.set(clientId, { client, until: Date.now() + seconds * 1000 });
  }

  return {
    resolve(clientId) {
      const cached = cache.get(clientId);
      if (cached && cached.until > Date.now()) return Promise.resolve(cached.client);
      cache.delete(clientId);
      // Concurrent requests for one client share one fetch; errors are never cached.
      const running = inFlight.get(clientId);
      if (running) return running;
      const work = fetchDocument(clientId).finally(() => inFlight.delete(clientId));
      inFlight.set(clientId, work);
      return work;
    },
  };
}

function validate(clientId: string, json: unknown): MetadataDocumentClient {
  const parsed = Document.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ClientMetadataError(`The client's metadata document is invalid: ${issue?.path.join('.') || 'document'}: ${issue?.message ?? 'invalid'}.`);
  }
  const doc = parsed.data;
  // Draft §4.1: simple string comparison, no normalisation.
  if (doc.client_id !== clientId) throw new ClientMetadataError("The client's metadata document names a different client_id.");
  if (doc.token_endpoint_auth_method !== undefined && doc.token_endpoint_auth_method !== 'none') {
    throw new ClientMetadataError(`The client's metadata document asks for token_endpoint_auth_method "${doc.token_endpoint_auth_method.slice(0, 50)}"; only "none" is supported for metadata-document clients.`);
  }
  if (doc.response_types && !doc.response_types.includes('code')) throw new ClientMetadataError("The client's metadata document does not allow response_type code.");
  const grantTypes = doc.grant_types ?? ['authorization_code', 'refresh_token'];
  if (!grantTypes.includes('authorization_code')) throw new ClientMetadataError("The client's metadata document does not allow the authorization_code grant.");
  for (const uri of doc.redirect_uris) {
    const problem = redirectUriProblem(uri);
    if (problem) throw new ClientMetadataError(`The client's metadata document lists a redirect URI that ${problem}.`);
  }
  return { clientId, clientName: doc.client_name ?? null, redirectUris: doc.redirect_uris, grantTypes };
}

/** max-age (bounded), or the default; no-store / no-cache mean "fetch every time". */
function cacheSeconds(header: string | string[] | undefined): number {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  if (/\b(no-store|no-cache)\b/i.test(value)) return 0;
  const maxAge = /\bmax-age=(\d+)/i.exec(value)?.[1];
  if (maxAge === undefined) return CACHE_DEFAULT_SECONDS;
  return Math.min(CACHE_MAX_SECONDS, Math.max(CACHE_MIN_SECONDS, Number(maxAge)));
}
