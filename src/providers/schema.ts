import { z } from 'zod';
import { isMcpEntry, mcpSettings, McpProviderSchema, type McpProviderInput, type McpSettings } from './mcp-schema.js';

/**
 * The providers file, as operators write it (see docs/providers.md).
 * Parsed strictly: an unknown key is far more often a typo than an intention,
 * and a typo in `token_auth` or `pkce` silently weakens security.
 */

const ParamSchema = z.strictObject({
  type: z.enum(['string', 'integer', 'number', 'boolean', 'array', 'object']),
  in: z.enum(['path', 'query', 'body']),
  required: z.boolean().default(false),
  description: z.string().max(1000).optional(),
  /** Allowed values, shown to the model and enforced before anything goes upstream. */
  enum: z.array(z.union([z.string(), z.number()])).min(1).optional(),
  /** Element type for `array` params (query arrays are sent comma-separated). */
  items: z.strictObject({ type: z.enum(['string', 'integer', 'number', 'boolean']) }).optional(),
});

const ToolSchema = z
  .strictObject({
    // MCP clients show tool names to models; the SEP-986 character set keeps them portable.
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'tool names are 1-64 characters of A-Z a-z 0-9 _ . -'),
    description: z.string().min(1).max(2000),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    path: z.string().regex(/^\/[^?#]*$/, 'path must start with "/" and carry no query or fragment'),
    params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), ParamSchema).default({}),
  })
  .superRefine((tool, ctx) => {
    const placeholders = [...tool.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
    for (const name of placeholders) {
      const param = tool.params[name];
      if (!param || param.in !== 'path') {
        ctx.addIssue({ code: 'custom', path: ['path'], message: `placeholder {${name}} has no "in": "path" param` });
      } else if (!param.required) {
        ctx.addIssue({ code: 'custom', path: ['params', name, 'required'], message: 'path params must be required' });
      }
    }
    for (const [name, param] of Object.entries(tool.params)) {
      if (param.in === 'path' && !placeholders.includes(name)) {
        ctx.addIssue({ code: 'custom', path: ['params', name], message: `path param "${name}" does not appear in the path` });
      }
    }
  });

const common = {
  id: z.string().regex(/^[a-z0-9-]{1,40}$/, 'id is 1-40 characters of a-z 0-9 -'),
  name: z.string().min(1).max(100),
  api_base_url: z.url({ protocol: /^https?$/ }),
  /** Sent as User-Agent on every upstream request; some APIs (OwnerRez) require a descriptive one. */
  user_agent: z.string().min(1).max(200).optional(),
  /** Extra static headers for every API request (e.g. an API version pin). */
  headers: z.record(z.string(), z.string()).default({}),
  tools: z.array(ToolSchema).default([]),
};

export const OAuth2ProviderSchema = z.strictObject({
  ...common,
  auth: z.literal('oauth2'),
  authorization_url: z.url({ protocol: /^https?$/ }),
  token_url: z.url({ protocol: /^https?$/ }),
  /**
   * RFC 7009 endpoint. A `{token}` placeholder puts the token in the path instead of a form body
   * (OwnerRez revokes with `DELETE /oauth/access_token/{token}`).
   */
  revocation_url: z.url({ protocol: /^https?$/ }).optional(),
  revocation_method: z.enum(['POST', 'DELETE']).default('POST'),
  scopes: z.array(z.string().min(1)).default([]),
  scope_separator: z.string().default(' '),
  pkce: z.boolean().default(true),
  client_id: z.string().min(1),
  client_secret: z.string().min(1).optional(),
  token_auth: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
  authorization_params: z.record(z.string(), z.string()).default({}),
  /**
   * Field of the token response that names the upstream account (OwnerRez: `user_id`).
   * Without it, the `sub` of an OpenID Connect id_token is used when the upstream returns one.
   */
  account_id_field: z.string().min(1).optional(),
  /**
   * Where the token set sits in the token response when not at its top (Slack's user tokens:
   * `authed_user`, beside the app's own bot token). A response whose object there carries no
   * `access_token` (a refresh answer) is read from the top. `account_id_field` stays a path from the top.
   */
  token_response_path: z.string().regex(/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/, 'a dotted path of field names').optional(),
});

/** RFC 9110 §5.6.2 token: anything else is not a header name, and fetch would throw on every call. */
const HeaderName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, 'must be an HTTP header name');

export const ApiKeyProviderSchema = z.strictObject({
  ...common,
  auth: z.literal('api_key'),
  /** How the user's key travels: a header built from a template (`Bearer {key}`), or a query parameter. */
  api_key: z.union([
    z.strictObject({ header: HeaderName, template: z.string().includes('{key}').default('{key}') }),
    z.strictObject({ query: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be a query parameter name') }),
  ]),
  /** Request that proves a key works before it is stored; 401/403 there means the key is refused. */
  validate: z
    .strictObject({
      method: z.enum(['GET', 'POST']).default('GET'),
      path: z.string().regex(/^\/[^?#{}]*$/, 'path must start with "/" and carry no query, fragment or placeholder'),
    })
    .optional(),
  /** The operator's key, used for users who have not set their own. */
  fallback_key: z.string().min(1).optional(),
});

export const ProviderSchema = z.discriminatedUnion('auth', [OAuth2ProviderSchema, ApiKeyProviderSchema]);

/** Only a remote MCP server can be reached with no credentials at all (see mcp-schema.ts). */
export interface NoAuthProviderDefinition {
  id: string;
  name: string;
  auth: 'none';
  api_base_url: string;
  user_agent?: string | undefined;
  headers: Record<string, string>;
  tools: ToolDefinition[];
  mcp: McpSettings;
}

/** `mcp` is set on providers whose upstream is a remote MCP server (they declare no tools). */
export type OAuth2ProviderDefinition = z.infer<typeof OAuth2ProviderSchema> & { mcp?: McpSettings };
export type ApiKeyProviderDefinition = z.infer<typeof ApiKeyProviderSchema> & { mcp?: McpSettings };
export type ProviderDefinition = OAuth2ProviderDefinition | ApiKeyProviderDefinition | NoAuthProviderDefinition;

/**
 * Until discovery has run (upstreams/mcp/oauth-discovery.ts), an OAuth MCP provider's endpoints
 * point at its MCP URL: the operator chose that origin, and nothing is sent there before the
 * real endpoints replace these.
 */
function fromMcpInput(input: McpProviderInput): ProviderDefinition {
  const mcp = mcpSettings(input);
  const base = { id: input.id, name: input.name, api_base_url: input.mcp_url, user_agent: input.user_agent, headers: input.headers, tools: [], mcp };
  if (input.auth === 'none') return { ...base, auth: 'none' };
  if (input.auth === 'api_key') return { ...base, auth: 'api_key', api_key: input.api_key, validate: undefined, fallback_key: input.fallback_key };
  return {
    ...base,
    auth: 'oauth2',
    authorization_url: input.mcp_url,
    token_url: input.mcp_url,
    revocation_url: undefined,
    revocation_method: 'POST',
    scopes: input.scopes,
    scope_separator: ' ',
    pkce: true,
    client_id: input.client_id ?? '',
    client_secret: input.client_secret,
    token_auth: input.token_auth ?? (input.client_secret ? 'client_secret_basic' : 'client_secret_post'),
    // RFC 8707 / MCP authorization: the token is for this MCP server and no other.
    authorization_params: { ...input.authorization_params, resource: input.mcp_url },
    account_id_field: undefined,
  };
}

const AnyProvider = z.unknown().transform((entry, ctx): ProviderDefinition => {
  const parsed = isMcpEntry(entry) ? McpProviderSchema.safeParse(entry) : ProviderSchema.safeParse(entry);
  if (parsed.success) return 'mcp_url' in parsed.data ? fromMcpInput(parsed.data) : parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: issue.path } as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER;
});

export const ProvidersFileSchema = z.strictObject({ providers: z.array(AnyProvider) });
export type ToolDefinition = z.infer<typeof ToolSchema>;
export type ParamDefinition = z.infer<typeof ParamSchema>;
