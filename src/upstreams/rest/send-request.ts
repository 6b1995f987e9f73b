import type { Dispatcher } from 'undici';
import { upstreamApiAgent } from '../../outbound/agents.js';
import { exchange, headerValue } from '../../outbound/exchange.js';
import { DEFAULT_UPSTREAM_LIMITS } from '../../outbound/limits.js';
import { retryAfterSeconds } from '../../outbound/retry-after.js';
import type { ProviderDefinition } from '../../providers/schema.js';
import type { UpstreamRequest } from './build-request.js';

/** Upper bound on what one tool result may carry back to the model. */
export const MAX_RESULT_BYTES = 256 * 1024;

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
  const response = await exchange(upstreamApiAgent, { url, method: request.method as Dispatcher.HttpMethod, headers, body: request.body }, { timeoutMs, maxBytes: MAX_RESULT_BYTES });
  return {
    status: response.status,
    ok: response.status >= 200 && response.status < 300,
    text: response.text,
    truncated: response.truncated,
    retryAfterSeconds: retryAfterSeconds(headerValue(response.headers, 'retry-after')),
  };
}
