import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { NotConnectedError, RefreshBusyError, type AccessTokenSource } from '../connections/access-tokens.js';
import { TokenRequestError } from '../connections/oauth-client.js';
import type { Logger } from '../log.js';
import type { UpstreamLimits } from '../outbound/limits.js';
import type { RegisteredTool } from '../providers/registry.js';
import type { ProviderDefinition } from '../providers/schema.js';
import { buildUpstreamRequest, MAX_RESULT_BYTES, sendUpstream, UnsafeArgumentError, upstreamTimedOut, type UpstreamResponse } from './upstream-request.js';

/** Who is calling: resolved from their key before any MCP message is read. */
export interface Caller {
  userId: string;
  scopes: readonly string[];
  keyPrefix: string;
}

export interface ToolCallDeps {
  tokens: AccessTokenSource;
  log: Logger;
  limits: Pick<UpstreamLimits, 'apiTimeoutMs'>;
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

  const send = (token: string): Promise<UpstreamResponse> =>
    sendUpstream(provider, request, { headers: { authorization: `Bearer ${token}` } }, deps.limits.apiTimeoutMs);
  try {
    const token = await deps.tokens.get(caller.userId, provider);
    const response = await send(token);
    if (response.status !== 401) return toResult(provider.name, response);
    // The upstream may revoke or expire a token before its stated expiry: refresh once and
    // retry once. A second 401 is reported as it is; refreshing again would not help.
    const retried = await send(await deps.tokens.refreshAfterRejection(caller.userId, provider, token));
    const note = retried.status === 401 ? ` It refused a freshly refreshed token too: the account may lack permission for this; if it persists, reconnect.` : '';
    return toResult(provider.name, retried, note);
  } catch (err) {
    if (err instanceof NotConnectedError) return errorResult(err.message);
    if (err instanceof TokenRequestError || err instanceof RefreshBusyError) return errorResult(refreshFailure(provider, err, deps.log));
    if (upstreamTimedOut(err)) return errorResult(`${provider.name} did not answer within ${deps.limits.apiTimeoutMs / 1000} s. Try again later.`);
    deps.log.warn({ tool: tool.name, err: (err as Error).message }, 'tool call failed');
    return errorResult(`${provider.name} could not be reached: ${(err as Error).message}`);
  }
}

/** A refresh that failed without proving the grant dead: the connection is kept either way. */
function refreshFailure(provider: ProviderDefinition, err: TokenRequestError | RefreshBusyError, log: Logger): string {
  if (err instanceof TokenRequestError && err.kind === 'rejected') {
    // Not invalid_grant, so not the user's doing: usually the OAuth client's settings (invalid_client…).
    log.error({ provider: provider.id, err: err.message }, 'upstream refused to refresh a token for a reason other than invalid_grant');
    return `${provider.name} refused to refresh your access: ${err.message}. Your connection is kept; the server's ${provider.name} OAuth settings may need attention.`;
  }
  const when = err instanceof TokenRequestError && err.retryAfterSeconds ? `in ${err.retryAfterSeconds} seconds` : 'shortly';
  return `Could not refresh your ${provider.name} access: ${err.message}. Your connection is kept; try again ${when}.`;
}

function toResult(providerName: string, response: UpstreamResponse, note = ''): CallToolResult {
  const suffix = response.truncated ? `\n[truncated: the response was larger than the ${MAX_RESULT_BYTES / 1024} KB limit]` : '';
  if (response.ok) return { content: [{ type: 'text', text: response.text + suffix }] };
  const retry = response.retryAfterSeconds !== undefined ? ` Retry after ${response.retryAfterSeconds} seconds.` : '';
  const excerpt = response.text.length > EXCERPT_CHARS ? `${response.text.slice(0, EXCERPT_CHARS)}…` : response.text;
  return errorResult(`${providerName} answered HTTP ${response.status}.${retry}${note}${excerpt ? `\n${excerpt}` : ''}`);
}
