import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Caller } from '../auth/caller.js';
import { NotConnectedError, RefreshBusyError } from '../connections/access-tokens.js';
import { setKeyInstructions } from '../connections/connect-instructions.js';
import { scrubSecret, type CredentialSource, type UpstreamCredentials } from '../connections/credentials.js';
import { TokenRequestError } from '../connections/oauth-client.js';
import { inFlightMessage, type InFlightLimiter } from '../limits/in-flight.js';
import type { Logger } from '../log.js';
import { unexpectedFailureText } from './unexpected-failure.js';
import { CallDeadlineError, startDeadline, type Deadline } from '../outbound/deadline.js';
import type { UpstreamLimits } from '../outbound/limits.js';
import type { RegisteredTool } from '../providers/registry.js';
import type { ApiKeyProviderDefinition, ProviderDefinition } from '../providers/schema.js';
import type { UsageRecorder } from '../usage/usage-recorder.js';
import { upstreamTimedOut } from '../outbound/exchange.js';
import { observed, type UpstreamObserver } from '../outbound/observe.js';
import { buildUpstreamRequest, UnsafeArgumentError, type UpstreamRequest } from '../upstreams/rest/build-request.js';
import { MAX_RESULT_BYTES, sendUpstream, type UpstreamResponse } from '../upstreams/rest/send-request.js';

export interface ToolCallDeps {
  credentials: CredentialSource;
  /** Counts every call per user, provider, tool and day (in memory; written in batches). */
  usage: UsageRecorder;
  log: Logger;
  /** Base of the URLs that tell a user how to connect or set a key. */
  publicUrl: string;
  limits: Pick<UpstreamLimits, 'apiTimeoutMs' | 'callTimeoutMs'>;
  /** Caps on calls in flight per user and per key, per upstream (limits/in-flight.ts). */
  inFlight: InFlightLimiter;
  /** Told about every upstream request (for /metrics). */
  upstream?: UpstreamObserver | undefined;
}

const EXCERPT_CHARS = 500;

function errorResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/**
 * Runs one tool as the caller, with the caller's upstream credentials and nobody else's.
 * Every failure is a tool result with `isError: true` (MCP 2025-11-25 "Error Handling"), so the
 * model can read what went wrong and the user can act on it. Every call is counted.
 */
export async function callTool(deps: ToolCallDeps, caller: Caller, tool: RegisteredTool, rawArgs: unknown): Promise<CallToolResult> {
  const count = (ok: boolean): void => deps.usage.record({ userId: caller.userId, providerId: tool.provider.id, tool: tool.name, ok });
  try {
    const result = await runTool(deps, caller, tool, rawArgs);
    count(result.isError !== true);
    return result;
  } catch (err) {
    count(false);
    throw err;
  }
}

async function runTool(deps: ToolCallDeps, caller: Caller, tool: RegisteredTool, rawArgs: unknown): Promise<CallToolResult> {
  const deadline = startDeadline(deps.limits.callTimeoutMs);
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
  // Refused before it takes a socket or a refresh slot: queueing it would only move the wait here.
  const leave = deps.inFlight.enter(caller.userId, caller.keyPrefix, provider.id);
  if (typeof leave !== 'function') return errorResult(inFlightMessage(leave, provider.name));
  try {
    return await runUpstream(deps, caller, tool, request, deadline);
  } finally {
    leave();
  }
}

/** Which part of a call the deadline cut short, for the message. */
type Stage = 'credentials' | 'request';

async function runUpstream(deps: ToolCallDeps, caller: Caller, tool: RegisteredTool, request: UpstreamRequest, deadline: Deadline): Promise<CallToolResult> {
  const provider = tool.provider;
  let credentials: UpstreamCredentials | undefined;
  let stage: Stage = 'credentials';
  try {
    credentials = await deps.credentials.get(caller.userId, provider, caller, deadline);
    stage = 'request';
    const send = (using: UpstreamCredentials): Promise<UpstreamResponse> =>
      observed(deps.upstream, provider.id, () => sendUpstream(provider, request, using, deadline.cap(deps.limits.apiTimeoutMs)), (r) => r.status);
    let response = await send(credentials);
    let note = '';
    if (response.status === 401) {
      // The upstream may revoke or expire a token before its stated expiry: refresh once and
      // retry once. A second 401 is reported as it is; refreshing again would not help.
      stage = 'credentials';
      const renewed = await deps.credentials.renewAfterRejection(caller.userId, provider, credentials, caller, deadline);
      stage = 'request';
      if (renewed) {
        credentials = renewed;
        response = await send(credentials);
        if (response.status === 401) {
          note = ' It refused a freshly refreshed token too: the account may lack permission for this; if it persists, reconnect.';
        }
      }
    }
    // Scrubbed before any excerpt is cut, so no part of the secret can survive at a cut.
    response = { ...response, text: scrubSecret(response.text, credentials.secret) };
    if (provider.auth === 'api_key' && (response.status === 401 || response.status === 403)) {
      return keyRefused(deps, provider, credentials.source, response);
    }
    return toResult(provider.name, response, note);
  } catch (err) {
    if (err instanceof NotConnectedError) return errorResult(err.message);
    if (cutByDeadline(err, deadline)) {
      deps.log.warn({ tool: tool.name, stage, err: (err as Error).message }, 'tool call stopped at its deadline');
      return errorResult(deadlineMessage(provider.name, deadline.budgetMs, stage));
    }
    if (err instanceof TokenRequestError || err instanceof RefreshBusyError) return errorResult(refreshFailure(provider, err, deps.log));
    if (upstreamTimedOut(err)) return errorResult(`${provider.name} did not answer within ${deps.limits.apiTimeoutMs / 1000} s. Try again later.`);
    return errorResult(unexpectedFailureText(provider.name, err, credentials?.secret, deps.log, { tool: tool.name }));
  }
}

/**
 * Whether a failure is the call's deadline: a step refused to start with no time left, or a wait
 * or request (given what was left) gave up once the deadline had passed.
 */
export function cutByDeadline(err: unknown, deadline: Deadline): boolean {
  if (err instanceof CallDeadlineError) return true;
  if (!deadline.expired()) return false;
  return upstreamTimedOut(err) || err instanceof RefreshBusyError || (err instanceof TokenRequestError && err.kind === 'transient');
}

/** The one message for a call stopped at its deadline (REST and remote MCP tools alike). */
export function deadlineMessage(providerName: string, budgetMs: number, stage: Stage): string {
  const what =
    stage === 'credentials'
      ? `refreshing your ${providerName} access did not finish in time (its token endpoint is slow or not answering). Your connection is kept`
      : `${providerName} did not answer in time`;
  return `The call to ${providerName} was stopped after ${budgetMs / 1000} s, the limit for one tool call: ${what}. Try again later.`;
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

/**
 * The upstream refused an API key. The key is kept (it may be a permissions problem, or the user
 * may want to fix it at the upstream), and the message says how to replace it.
 */
function keyRefused(deps: ToolCallDeps, provider: ApiKeyProviderDefinition, source: UpstreamCredentials['source'], response: UpstreamResponse): CallToolResult {
  const how = setKeyInstructions(deps.publicUrl, provider);
  const detail = excerptOf(response);
  if (source === 'fallback') {
    deps.log.warn({ provider: provider.id, status: response.status }, 'upstream refused the fallback API key');
    return errorResult(`${provider.name} refused this server's shared API key (HTTP ${response.status}). To use your own key instead, ${how}.${detail}`);
  }
  return errorResult(
    `${provider.name} refused your API key (HTTP ${response.status}): it may be revoked, mistyped or lack permission for this. Your key is still stored; to replace it, ${how}.${detail}`,
  );
}

function excerptOf(response: UpstreamResponse): string {
  const excerpt = response.text.length > EXCERPT_CHARS ? `${response.text.slice(0, EXCERPT_CHARS)}…` : response.text;
  return excerpt ? `\n${excerpt}` : '';
}

function toResult(providerName: string, response: UpstreamResponse, note = ''): CallToolResult {
  const suffix = response.truncated ? `\n[truncated: the response was larger than the ${MAX_RESULT_BYTES / 1024} KB limit]` : '';
  if (response.ok) return { content: [{ type: 'text', text: response.text + suffix }] };
  const retry = response.retryAfterSeconds !== undefined ? ` Retry after ${response.retryAfterSeconds} seconds.` : '';
  return errorResult(`${providerName} answered HTTP ${response.status}.${retry}${note}${excerptOf(response)}`);
}

