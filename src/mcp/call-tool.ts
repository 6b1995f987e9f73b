import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { NotConnectedError, type AccessTokenSource } from '../connections/access-tokens.js';
import { TokenRequestError } from '../connections/oauth-client.js';
import type { Logger } from '../log.js';
import type { RegisteredTool } from '../providers/registry.js';
import { buildUpstreamRequest, MAX_RESULT_BYTES, sendUpstream, UnsafeArgumentError, upstreamTimedOut, UPSTREAM_TIMEOUT_MS, type UpstreamResponse } from './upstream-request.js';

/** Who is calling: resolved from their key before any MCP message is read. */
export interface Caller {
  userId: string;
  scopes: readonly string[];
  keyPrefix: string;
}

export interface ToolCallDeps {
  tokens: AccessTokenSource;
  log: Logger;
}

const EXCERPT_CHARS = 500;

function errorResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/**
 * Runs one tool as the caller, with the caller's upstream token and nobody else's.
 * Every failure is a tool result with `isError: true` (MCP 2025-11-25 "Error Handling"), so the
 * model can read what went wrong and the user can act on it.
 */
export async function callTool(deps: ToolCallDeps, caller: Caller, tool: RegisteredTool, rawArgs: unknown): Promise<CallToolResult> {
  const parsed = tool.validator.safeParse(rawArgs ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ');
    return errorResult(`Invalid arguments for ${tool.name}: ${problems}`);
  }
  const provider = tool.provider;
  let request;
  try {
    request = buildUpstreamRequest(provider, tool.definition, parsed.data);
  } catch (err) {
    if (err instanceof UnsafeArgumentError) return errorResult(`Invalid arguments for ${tool.name}: ${err.message}`);
    throw err;
  }
  if (provider.auth !== 'oauth2') return errorResult(`${provider.name} tools are not available yet on this server.`);

  try {
    let token = await deps.tokens.get(caller.userId, provider);
    let response = await sendUpstream(provider, request, { headers: { authorization: `Bearer ${token}` } });
    if (response.status === 401) {
      // The upstream may revoke or expire a token before its stated expiry: refresh once and retry.
      token = await deps.tokens.refreshAfterRejection(caller.userId, provider, token);
      response = await sendUpstream(provider, request, { headers: { authorization: `Bearer ${token}` } });
    }
    return toResult(provider.name, response);
  } catch (err) {
    if (err instanceof NotConnectedError) return errorResult(err.message);
    if (err instanceof TokenRequestError) {
      // Transient refresh failures keep the connection; the user only needs to retry.
      return errorResult(`Could not refresh your ${provider.name} access: ${err.message}. Your connection is kept; try again shortly.`);
    }
    if (upstreamTimedOut(err)) return errorResult(`${provider.name} did not answer within ${UPSTREAM_TIMEOUT_MS / 1000} s. Try again later.`);
    deps.log.warn({ tool: tool.name, err: (err as Error).message }, 'tool call failed');
    return errorResult(`${provider.name} could not be reached: ${(err as Error).message}`);
  }
}

function toResult(providerName: string, response: UpstreamResponse): CallToolResult {
  const suffix = response.truncated ? `\n[truncated: the response was larger than the ${MAX_RESULT_BYTES / 1024} KB limit]` : '';
  if (response.ok) return { content: [{ type: 'text', text: response.text + suffix }] };
  const retry = response.retryAfter ? ` Retry after ${response.retryAfter} seconds.` : '';
  const excerpt = response.text.length > EXCERPT_CHARS ? `${response.text.slice(0, EXCERPT_CHARS)}…` : response.text;
  return errorResult(`${providerName} answered HTTP ${response.status}.${retry}${excerpt ? `\n${excerpt}` : ''}`);
}
