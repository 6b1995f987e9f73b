import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { NotConnectedError, RefreshBusyError } from '../connections/access-tokens.js';
import { connectInstructions } from '../connections/connect-instructions.js';
import type { CredentialSource, UpstreamCredentials } from '../connections/credentials.js';
import { TokenRequestError } from '../connections/oauth-client.js';
import { inFlightMessage, type InFlightLimiter } from '../limits/in-flight.js';
import type { Logger } from '../log.js';
import { startDeadline, type Deadline } from '../outbound/deadline.js';
import type { UsageRecorder } from '../usage/usage-recorder.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { ProviderDefinition } from '../providers/schema.js';
import type { McpSettings } from '../providers/mcp-schema.js';
import { createMcpClient, McpAnswerTooLargeError, McpHttpError, McpProtocolError, type McpClient, type McpTarget } from '../upstreams/mcp/mcp-client.js';
import { createToolViewCache, listUpstreamTools, toToolView, type ToolView, type ToolViewCache } from '../upstreams/mcp/tool-view.js';
import type { Caller } from '../auth/caller.js';
import { observed, type UpstreamObserver } from '../outbound/observe.js';
import { unexpectedFailureText } from './unexpected-failure.js';
import { cutByDeadline, deadlineMessage } from './call-tool.js';

export type McpProvider = ProviderDefinition & { mcp: McpSettings };

export interface RemoteToolsDeps {
  registry: ProviderRegistry;
  credentials: CredentialSource;
  /** Defaults: one client for the process, views kept 60 s for at most 10 000 connections. */
  client?: McpClient;
  views?: ToolViewCache;
  usage: UsageRecorder;
  log: Logger;
  publicUrl: string;
  limits: { apiTimeoutMs: number; callTimeoutMs: number };
  /** Caps on calls in flight per user and per key, per upstream (limits/in-flight.ts); shared with REST tools. */
  inFlight: InFlightLimiter;
  /** Called with a failed token request; true when it was our registered client being forgotten upstream. */
  clientRejected?: (providerId: string, err: unknown) => Promise<boolean>;
  /** Told about every upstream request (for /metrics). */
  upstream?: UpstreamObserver | undefined;
}

/** A user's tools on remote MCP servers (issue 12): listed per connection, calls forwarded as they are. */
export interface RemoteTools {
  /** False when no provider is a remote MCP server: /mcp then stays exactly the REST path. */
  readonly enabled: boolean;
  /** The MCP provider whose prefix `name` carries, if any. */
  owner(name: string): McpProvider | undefined;
  /** Every remote tool the caller may use, or a `<prefix>connect` tool per provider they have not connected. */
  list(caller: Caller): Promise<Tool[]>;
  /** Runs a remote tool; every failure is an `isError` result naming the upstream. */
  call(caller: Caller, provider: McpProvider, name: string, args: Record<string, unknown> | undefined): Promise<CallToolResult>;
}

function errorResult(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

function usable(scopes: readonly string[], readOnly: boolean): boolean {
  return scopes.includes('tools:write') || (readOnly && scopes.includes('tools:read'));
}

export function createRemoteTools(options: RemoteToolsDeps): RemoteTools {
  const deps = { ...options, client: options.client ?? createMcpClient(), views: options.views ?? createToolViewCache({ ttlMs: 60_000, max: 10_000 }) };
  const providers = deps.registry.providers.filter((p): p is McpProvider => p.mcp !== undefined);
  const keyOf = (caller: Caller, provider: McpProvider): string => `${caller.userId}\u0000${provider.id}`;

  function target(caller: Caller, provider: McpProvider, credentials: UpstreamCredentials, deadline: Deadline | undefined): McpTarget {
    const headers: Record<string, string> = { ...provider.headers, ...credentials.headers, 'user-agent': provider.user_agent ?? 'mcp-oauth-proxy' };
    return { key: keyOf(caller, provider), url: provider.mcp.url, headers, timeoutMs: deps.limits.apiTimeoutMs, ...(deadline ? { deadline } : {}) };
  }

  async function credentialsFor(caller: Caller, provider: McpProvider, deadline?: Deadline): Promise<UpstreamCredentials> {
    // OAuth discovery and client registration, once; the discovered definition carries the endpoints.
    const ready = (await deps.registry.ready(provider.id)) ?? provider;
    return deps.credentials.get(caller.userId, ready, caller, deadline);
  }

  /** A request with one refresh-and-retry after a 401 (the token may have died before its expiry). */
  async function request(caller: Caller, provider: McpProvider, credentials: UpstreamCredentials, method: string, params: Record<string, unknown>, deadline?: Deadline) {
    // A JSON-RPC answer came back over HTTP 200; failures carry their status when they have one.
    const send = (using: UpstreamCredentials) =>
      observed(deps.upstream, provider.id, () => deps.client.request(target(caller, provider, using, deadline), method, params), () => 200, (err) => (err instanceof McpHttpError ? err.status : undefined));
    try {
      return { answer: await send(credentials), credentials };
    } catch (err) {
      if (!(err instanceof McpHttpError && err.status === 401)) throw err;
      const renewed = await deps.credentials.renewAfterRejection(caller.userId, deps.registry.provider(provider.id) ?? provider, credentials, caller, deadline);
      if (!renewed) throw err;
      return { answer: await send(renewed), credentials: renewed };
    }
  }

  async function view(caller: Caller, provider: McpProvider, credentials: UpstreamCredentials, fresh: boolean, deadline?: Deadline): Promise<ToolView> {
    const key = keyOf(caller, provider);
    const cached = fresh ? undefined : deps.views.get(key);
    if (cached) return cached;
    let current = credentials;
    const upstream = await listUpstreamTools(async (cursor) => {
      const { answer, credentials: used } = await request(caller, provider, current, 'tools/list', cursor ? { cursor } : {}, deadline);
      current = used;
      if ('error' in answer) throw new McpProtocolError(`tools/list failed: ${answer.error.message}`);
      return answer.result;
    });
    const built = toToolView(provider.mcp, upstream);
    deps.views.set(key, built);
    return built;
  }

  function connectTool(provider: McpProvider, how: string): Tool {
    return {
      name: `${provider.mcp.toolPrefix}connect`,
      description: `Your ${provider.name} account is not connected, so its tools are not available yet. ${how}`,
      inputSchema: { type: 'object', properties: {} },
      annotations: { readOnlyHint: true, openWorldHint: false },
    };
  }

  /** Words for a failure, naming the upstream; never the credential. */
  function failure(provider: McpProvider, err: unknown, credentials: UpstreamCredentials | undefined): string {
    if (err instanceof NotConnectedError) return err.message;
    if (err instanceof TokenRequestError || err instanceof RefreshBusyError) return `Could not refresh your ${provider.name} access: ${err.message}. Your connection is kept; try again shortly.`;
    if (err instanceof McpHttpError && err.status === 401) {
      return `${provider.name} refused your access (HTTP 401) even after a refresh. Reconnect it. ${connectInstructions(deps.publicUrl, provider.id)}`;
    }
    if (err instanceof McpHttpError) return `${provider.name} answered HTTP ${err.status}. Try again later.`;
    if (err instanceof Error && err.name === 'TimeoutError') return `${provider.name} did not answer within ${deps.limits.apiTimeoutMs / 1000} s. Try again later.`;
    if (err instanceof McpAnswerTooLargeError || err instanceof McpProtocolError) return `${provider.name} sent an answer this server cannot use: ${err.message}.`;
    return unexpectedFailureText(provider.name, err, credentials?.secret, deps.log, { provider: provider.id });
  }

  return {
    enabled: providers.length > 0,

    owner(name) {
      return providers.find((p) => name.startsWith(p.mcp.toolPrefix));
    },

    async list(caller) {
      const lists = await Promise.all(
        providers.map(async (provider): Promise<Tool[]> => {
          // Listing takes sockets of the same pool as calls, so it takes a place in the same caps.
          const leave = deps.inFlight.enter(caller.userId, caller.keyPrefix, provider.id);
          if (typeof leave !== 'function') {
            // Over the cap nothing is sent upstream; the tools last listed are still the best answer.
            const cached = deps.views.get(keyOf(caller, provider));
            if (cached) return cached.tools.filter((t) => usable(caller.scopes, cached.readOnly.get(t.name) === true));
            deps.log.info({ provider: provider.id }, 'remote MCP tools left out of a list: too many calls in flight');
            return [];
          }
          try {
            const deadline = startDeadline(deps.limits.callTimeoutMs);
            const credentials = await credentialsFor(caller, provider, deadline);
            const v = await view(caller, provider, credentials, false, deadline);
            return v.tools.filter((t) => usable(caller.scopes, v.readOnly.get(t.name) === true));
          } catch (err) {
            if (err instanceof NotConnectedError) return [connectTool(provider, err.message)];
            // One unreachable upstream must not take every other tool out of the list.
            deps.log.warn({ provider: provider.id, err: failure(provider, err, undefined) }, 'could not list the tools of a remote MCP server');
            return [];
          } finally {
            leave();
          }
        }),
      );
      return lists.flat();
    },

    async call(caller, provider, name, args) {
      const leave = deps.inFlight.enter(caller.userId, caller.keyPrefix, provider.id);
      let result: CallToolResult;
      if (typeof leave !== 'function') result = errorResult(inFlightMessage(leave, provider.name));
      else {
        try {
          result = await callRemote(caller, provider, name, args, startDeadline(deps.limits.callTimeoutMs));
        } finally {
          leave();
        }
      }
      deps.usage.record({ userId: caller.userId, providerId: provider.id, tool: name, ok: result.isError !== true });
      return result;
    },
  };

  async function callRemote(caller: Caller, provider: McpProvider, name: string, args: Record<string, unknown> | undefined, deadline: Deadline): Promise<CallToolResult> {
      let credentials: UpstreamCredentials | undefined;
      let stage: 'credentials' | 'request' = 'credentials';
      try {
        credentials = await credentialsFor(caller, provider, deadline);
        stage = 'request';
        let v = await view(caller, provider, credentials, false, deadline);
        // A tool the cache does not know may have been added upstream since: read the list again.
        if (!v.upstreamName.has(name)) v = await view(caller, provider, credentials, true, deadline);
        const upstreamName = v.upstreamName.get(name);
        if (upstreamName === undefined) return errorResult(`${provider.name} has no tool "${name.slice(provider.mcp.toolPrefix.length)}" for your account.`);
        if (!usable(caller.scopes, v.readOnly.get(name) === true)) {
          return errorResult(`insufficient_scope: this API key may only use read-only tools; ${name} needs the tools:write scope.`);
        }
        const { answer } = await request(caller, provider, credentials, 'tools/call', { name: upstreamName, arguments: args ?? {} }, deadline);
        if ('error' in answer) return errorResult(`${provider.name} refused the call of ${upstreamName}: ${answer.error.message} (JSON-RPC ${answer.error.code}).`);
        const result = answer.result as CallToolResult | null;
        if (!result || typeof result !== 'object' || !Array.isArray(result.content)) {
          return errorResult(`${provider.name} sent an answer this server cannot use: the tool result has no content array.`);
        }
        // Passed on as it came: content, structuredContent, isError and _meta are the upstream's.
        return result;
      } catch (err) {
        if (err instanceof TokenRequestError && (await deps.clientRejected?.(provider.id, err))) {
          return errorResult(`${provider.name} no longer knows this server's OAuth client; a new one is registered when you reconnect. ${connectInstructions(deps.publicUrl, provider.id)}`);
        }
        if (err instanceof NotConnectedError && name === `${provider.mcp.toolPrefix}connect`) return { content: [{ type: 'text', text: err.message }] };
        if (cutByDeadline(err, deadline)) {
          deps.log.warn({ provider: provider.id, tool: name, stage, err: (err as Error).message }, 'remote MCP tool call stopped at its deadline');
          return errorResult(deadlineMessage(provider.name, deadline.budgetMs, stage));
        }
        if (!(err instanceof NotConnectedError)) deps.log.warn({ provider: provider.id, tool: name, err: failure(provider, err, credentials) }, 'remote MCP tool call failed');
        return errorResult(failure(provider, err, credentials));
      }
  }
}
