import { Agent } from 'undici';
import { z } from 'zod';
import { exchange } from '../../outbound/exchange.js';
import { publicAddressesOnly, type AddressPolicy } from '../../outbound/address-policy.js';
import { safeGet } from '../../outbound/safe-get.js';

/** What an MCP client must learn before it can send a user to the upstream's authorization server. */
export interface DiscoveredAuthorization {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  revocationEndpoint: string | undefined;
  registrationEndpoint: string | undefined;
  scopesSupported: string[] | undefined;
  /** The protected resource's `scopes_supported` (RFC 9728 §2): what to ask for when the operator named none. */
  resourceScopes: string[] | undefined;
  tokenAuthMethods: string[] | undefined;
  /** `client_id_metadata_document_supported`: the server fetches a client's metadata from its URL client_id. */
  clientIdMetadataDocuments: boolean;
}

export interface DiscoveryOptions {
  timeoutMs: number;
  /** Which addresses a metadata URL on another origin than mcp_url may resolve to (default: public only). */
  addressPolicy?: AddressPolicy;
}

export class DiscoveryError extends Error {
  override name = 'DiscoveryError';
}

const MAX_BYTES = 64 * 1024;
const agent = new Agent({ keepAliveTimeout: 10_000, connections: 16 });

const ResourceMetadata = z.looseObject({ authorization_servers: z.array(z.url()).min(1), scopes_supported: z.array(z.string()).optional() });
const ServerMetadata = z.looseObject({
  issuer: z.string(),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  revocation_endpoint: z.url().optional(),
  registration_endpoint: z.url().optional(),
  scopes_supported: z.array(z.string()).optional(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
  client_id_metadata_document_supported: z.boolean().optional(),
});

/**
 * URLs on mcp_url's origin are trusted like mcp_url (the operator chose it) and fetched directly;
 * any other URL learned from metadata is attacker-influenced input, so it goes through the SSRF
 * guard of client metadata documents (HTTPS, public addresses, pinned DNS, no redirects).
 */
async function getJson(url: URL, trustedOrigin: string, options: DiscoveryOptions): Promise<{ status: number; body: unknown }> {
  let status: number;
  let text: string;
  if (url.origin === trustedOrigin) {
    const res = await exchange(agent, { url, method: 'GET', headers: { accept: 'application/json' }, body: undefined }, { timeoutMs: options.timeoutMs, maxBytes: MAX_BYTES });
    ({ status, text } = res);
  } else {
    const res = await safeGet(url, { policy: options.addressPolicy ?? publicAddressesOnly, maxBytes: MAX_BYTES, timeoutMs: options.timeoutMs });
    status = res.status;
    text = res.body.toString('utf8');
  }
  if (status !== 200) return { status, body: undefined };
  try {
    return { status, body: JSON.parse(text) };
  } catch {
    throw new DiscoveryError(`${url.href} is not JSON`);
  }
}

/** RFC 9728 §5.1: the `resource_metadata` parameter of the 401's Bearer challenge. */
async function challengedMetadataUrl(mcpUrl: URL, timeoutMs: number): Promise<URL | undefined> {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'mcp-oauth-proxy', version: '1' } } });
  const res = await exchange(agent, { url: mcpUrl, method: 'POST', headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' }, body }, { timeoutMs, maxBytes: MAX_BYTES });
  const header = res.headers['www-authenticate'];
  const value = Array.isArray(header) ? header.join(', ') : (header ?? '');
  const match = /resource_metadata="([^"]+)"/i.exec(value);
  return match?.[1] ? new URL(match[1], mcpUrl) : undefined;
}

/** RFC 9728 §3.1 and RFC 8414 §3.1: the well-known suffix goes between the origin and the path. */
function wellKnown(base: URL, suffix: string): URL[] {
  const path = base.pathname.replace(/\/+$/, '');
  const urls = [new URL(`${base.origin}/.well-known/${suffix}${path}`)];
  if (path !== '') urls.push(new URL(`${base.origin}/.well-known/${suffix}`));
  return urls;
}

/**
 * MCP authorization (2025-06-18 §"Authorization Server Discovery"): the 401's resource_metadata,
 * else /.well-known/oauth-protected-resource; then the first authorization server's RFC 8414
 * metadata, else its OpenID configuration.
 */
export async function discoverAuthorization(mcpUrl: string, options: DiscoveryOptions): Promise<DiscoveredAuthorization> {
  const resource = new URL(mcpUrl);
  const trusted = resource.origin;
  const candidates: URL[] = [];
  const challenged = await challengedMetadataUrl(resource, options.timeoutMs).catch(() => undefined);
  if (challenged) candidates.push(challenged);
  candidates.push(...wellKnown(resource, 'oauth-protected-resource'));
  let issuer: URL | undefined;
  let resourceScopes: string[] | undefined;
  for (const url of candidates) {
    const { body } = await getJson(url, trusted, options);
    const parsed = ResourceMetadata.safeParse(body);
    if (parsed.success) {
      issuer = new URL(parsed.data.authorization_servers[0] as string);
      resourceScopes = parsed.data.scopes_supported;
      break;
    }
  }
  if (!issuer) throw new DiscoveryError(`${mcpUrl} names no authorization server (no protected-resource metadata)`);
  const path = issuer.pathname.replace(/\/+$/, '');
  const serverCandidates = [
    new URL(`${issuer.origin}/.well-known/oauth-authorization-server${path}`),
    new URL(`${issuer.origin}/.well-known/openid-configuration${path}`),
    new URL(`${issuer.origin}${path}/.well-known/openid-configuration`),
  ];
  for (const url of serverCandidates) {
    const { body } = await getJson(url, trusted, options);
    const parsed = ServerMetadata.safeParse(body);
    if (!parsed.success) continue;
    const m = parsed.data;
    // RFC 8414 §3.3: the metadata must be about the issuer we asked for, or it may be someone else's.
    if (m.issuer.replace(/\/+$/, '') !== issuer.href.replace(/\/+$/, '')) throw new DiscoveryError(`the metadata at ${url.href} is for another issuer`);
    return {
      issuer: m.issuer,
      authorizationEndpoint: m.authorization_endpoint,
      tokenEndpoint: m.token_endpoint,
      revocationEndpoint: m.revocation_endpoint,
      registrationEndpoint: m.registration_endpoint,
      scopesSupported: m.scopes_supported,
      resourceScopes,
      tokenAuthMethods: m.token_endpoint_auth_methods_supported,
      clientIdMetadataDocuments: m.client_id_metadata_document_supported === true,
    };
  }
  throw new DiscoveryError(`no authorization server metadata found for ${issuer.href}`);
}
