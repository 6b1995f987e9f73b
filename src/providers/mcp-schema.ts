import { z } from 'zod';

/**
 * Providers whose upstream is itself a remote MCP server (`mcp_url` instead of `api_base_url` +
 * `tools`). Each is turned into the shape the rest of the server already knows — an OAuth 2 or
 * API-key provider with no declared tools — plus `mcp`, so the connect flow, token lifecycle and
 * key storage are the existing ones, not a second copy.
 */

/** What a provider needs to act as an MCP client of its upstream. */
export interface McpSettings {
  /** The upstream's streamable-HTTP endpoint; also the OAuth `resource` (RFC 8707). */
  readonly url: string;
  /** Prepended to every upstream tool name, so names never clash across providers. */
  readonly toolPrefix: string;
  /** Upstream tool names to offer (all when unset). */
  readonly include: readonly string[] | undefined;
  /** Upstream tool names never to offer. */
  readonly exclude: readonly string[];
  /** The providers file names the OAuth client (`client_id`); else this server obtains one. */
  readonly operatorClient: boolean;
  /** Set at run time when the OAuth client came from our own RFC 7591 registration (not the operator's). */
  readonly registeredClient?: boolean;
  /** Set at run time when the OAuth client is our Client ID Metadata Document (nothing registered). */
  readonly metadataDocumentClient?: boolean;
}

const HeaderName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, 'must be an HTTP header name');
const UpstreamToolName = z.string().min(1).max(128);
const httpUrl = z.url({ protocol: /^https?$/ });

const common = {
  id: z.string().regex(/^[a-z0-9-]{1,40}$/, 'id is 1-40 characters of a-z 0-9 -'),
  name: z.string().min(1).max(100),
  mcp_url: httpUrl,
  tool_prefix: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'tool_prefix is 1-40 characters of A-Z a-z 0-9 _ . -').optional(),
  include: z.array(UpstreamToolName).min(1).optional(),
  exclude: z.array(UpstreamToolName).default([]),
  user_agent: z.string().min(1).max(200).optional(),
  headers: z.record(z.string(), z.string()).default({}),
};

const McpOAuth2Schema = z.strictObject({
  ...common,
  auth: z.literal('oauth2'),
  /** A client registered by the operator; without it the server registers itself (RFC 7591). */
  client_id: z.string().min(1).optional(),
  client_secret: z.string().min(1).optional(),
  token_auth: z.enum(['client_secret_basic', 'client_secret_post']).optional(),
  scopes: z.array(z.string().min(1)).default([]),
  authorization_params: z.record(z.string(), z.string()).default({}),
});

const McpApiKeySchema = z.strictObject({
  ...common,
  auth: z.literal('api_key'),
  // MCP servers take credentials in a header: a query parameter would end up in their logs.
  api_key: z.strictObject({ header: HeaderName, template: z.string().includes('{key}').default('{key}') }),
  fallback_key: z.string().min(1).optional(),
});

const McpNoAuthSchema = z.strictObject({ ...common, auth: z.literal('none') });

export const McpProviderSchema = z.discriminatedUnion('auth', [McpOAuth2Schema, McpApiKeySchema, McpNoAuthSchema]);
export type McpProviderInput = z.infer<typeof McpProviderSchema>;

/** Whether a raw providers-file entry describes a remote MCP server. */
export function isMcpEntry(entry: unknown): boolean {
  return typeof entry === 'object' && entry !== null && 'mcp_url' in entry;
}

export function mcpSettings(input: McpProviderInput): McpSettings {
  return { url: input.mcp_url, toolPrefix: input.tool_prefix ?? `${input.id.replace(/-/g, '_')}_`, include: input.include, exclude: input.exclude, operatorClient: 'client_id' in input && Boolean(input.client_id) };
}
