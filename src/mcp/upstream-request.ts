import { Agent, type Dispatcher } from 'undici';
import { exchange } from '../outbound/exchange.js';
import { DEFAULT_UPSTREAM_LIMITS } from '../outbound/limits.js';
import { retryAfterSeconds } from '../outbound/retry-after.js';
import type { ProviderDefinition, ToolDefinition } from '../providers/schema.js';

/** Upper bound on what one tool result may carry back to the model. */
export const MAX_RESULT_BYTES = 256 * 1024;

export interface UpstreamRequest {
  url: URL;
  method: string;
  body: string | undefined;
}

/** Arguments that would make the request leave `api_base_url`. */
export class UnsafeArgumentError extends Error {}

/**
 * Turns validated arguments into the upstream request. Path params are percent-encoded into
 * their own segment, and the result must still live under `api_base_url`: a tool can never be
 * steered to another host or path (SSRF), whatever the model sends.
 */
export function buildUpstreamRequest(provider: ProviderDefinition, tool: ToolDefinition, args: Record<string, unknown>): UpstreamRequest {
  const path = tool.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = String(args[name]);
    // WHATWG URL parsing treats "." / ".." (even as %2e) as dot-segments and would climb out.
    if (value === '' || /^(\.|%2e){1,2}$/i.test(value)) throw new UnsafeArgumentError(`"${name}" is not a valid path segment`);
    try {
      return encodeURIComponent(value);
    } catch {
      // A lone UTF-16 surrogate (JSON can carry one) has no UTF-8 encoding.
      throw new UnsafeArgumentError(`"${name}" is not valid Unicode text`);
    }
  });
  const base = new URL(provider.api_base_url);
  const basePath = base.pathname.replace(/\/+$/, '');
  const url = new URL(`${base.origin}${basePath}${path}`);
  if (url.origin !== base.origin || !(url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) {
    throw new UnsafeArgumentError('the request would leave the provider API');
  }
  const body: Record<string, unknown> = {};
  let hasBody = false;
  for (const [name, param] of Object.entries(tool.params)) {
    const value = args[name];
    if (value === undefined) continue;
    if (param.in === 'query') url.searchParams.set(name, queryValue(value));
    if (param.in === 'body') {
      body[name] = value;
      hasBody = true;
    }
  }
  return { url, method: tool.method, body: hasBody ? JSON.stringify(body) : undefined };
}

function queryValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(',');
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export interface UpstreamResponse {
  status: number;
  ok: boolean;
  text: string;
  truncated: boolean;
  /** From a `Retry-After` header (seconds, or an HTTP-date turned into seconds). */
  retryAfterSeconds: number | undefined;
}

/**
 * Sends one tool request. `timeoutMs` bounds the whole exchange, reading the body included, so
 * a server that trickles its answer cannot hold the call open either. Redirects are never
 * followed: one could carry the user's token to another host.
 */
export async function sendUpstream(
  provider: ProviderDefinition,
  request: UpstreamRequest,
  credentials: { headers: Record<string, string>; query?: Record<string, string> },
  timeoutMs: number = DEFAULT_UPSTREAM_LIMITS.apiTimeoutMs,
): Promise<UpstreamResponse> {
  const url = new URL(request.url);
  for (const [k, v] of Object.entries(credentials.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = { accept: 'application/json', ...provider.headers, ...credentials.headers };
  headers['user-agent'] = provider.user_agent ?? 'mcp-oauth-proxy';
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  const response = await exchange(upstreamAgent, { url, method: request.method as Dispatcher.HttpMethod, headers, body: request.body }, { timeoutMs, maxBytes: MAX_RESULT_BYTES });
  const retryAfter = response.headers['retry-after'];
  return {
    status: response.status,
    ok: response.status >= 200 && response.status < 300,
    text: response.text,
    truncated: response.truncated,
    retryAfterSeconds: retryAfterSeconds(Array.isArray(retryAfter) ? (retryAfter[0] ?? null) : (retryAfter ?? null)),
  };
}

/**
 * One connection pool for every upstream API call: connections are kept alive between calls
 * (a TLS handshake per tool call would dominate its cost) and bounded per upstream origin.
 */
const upstreamAgent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000, connections: 128 });

/** The exchange's deadline passed (undici's own header/body timers are off for these requests). */
export function upstreamTimedOut(err: unknown): boolean {
  return err instanceof Error && err.name === 'TimeoutError';
}
