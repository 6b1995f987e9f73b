import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { Logger } from '../log.js';
import { jsonRpcError } from '../render-error.js';
import { VERSION } from '../version.js';
import type { Caller } from '../auth/caller.js';
import { callTool, type ToolCallDeps } from './call-tool.js';
import { describeTool } from './describe-tool.js';
import type { RemoteTools } from './remote-tools.js';
import { canUseTool } from './tool-access.js';

export interface McpHandler {
  /** Serves one MCP streamable-HTTP request for an authenticated caller. */
  handle(req: IncomingMessage, res: ServerResponse, caller: Caller, body: unknown): Promise<void>;
}

/**
 * Stateless streamable HTTP (no Mcp-Session-Id): every request carries its key and any
 * instance can answer it, so the service scales horizontally with no sticky sessions.
 */
export function createMcpHandler(deps: ToolCallDeps & { registry: ProviderRegistry; remote: RemoteTools }): McpHandler {
  function buildServer(caller: Caller): Server {
    const server = new Server(
      { name: 'mcp-oauth-proxy', version: VERSION },
      {
        capabilities: { tools: {} },
        instructions: 'Each tool calls an upstream API as the signed-in user. If a tool says an account is not connected, tell the user how to connect it.',
      },
    );
    server.setRequestHandler(ListToolsRequestSchema, rendered(deps.log, async () => ({
      tools: [
        ...deps.registry.tools.filter((tool) => canUseTool(caller.scopes, tool)).map(describeTool),
        ...(deps.remote.enabled ? await deps.remote.list(caller) : []),
      ],
    })));
    server.setRequestHandler(CallToolRequestSchema, rendered(deps.log, async (request) => {
      const tool = deps.registry.tool(request.params.name);
      const remote = tool ? undefined : deps.remote.owner(request.params.name);
      if (remote) return deps.remote.call(caller, remote, request.params.name, request.params.arguments);
      if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
      if (!canUseTool(caller.scopes, tool)) {
        // A refused call of a known tool counts too, as an error (callTool counts the others).
        deps.usage.record({ userId: caller.userId, providerId: tool.provider.id, tool: tool.name, ok: false });
        return {
          content: [{ type: 'text', text: `insufficient_scope: this API key may only use read-only tools; ${tool.name} needs the tools:write scope.` }],
          isError: true,
        };
      }
      return callTool(deps, caller, tool, request.params.arguments);
    }));
    return server;
  }

  return {
    async handle(req, res, caller, body) {
      const server = buildServer(caller);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    },
  };
}

/**
 * An SDK request handler whose failures go through the one renderer: the SDK's own protocol
 * errors (McpError, e.g. an unknown tool) pass as they are; anything else is logged with its
 * cause and answered as JSON-RPC "Internal error" — the SDK would otherwise send its message.
 */
function rendered<A extends unknown[], R>(log: Logger, handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await handler(...args);
    } catch (err) {
      if (err instanceof McpError) throw err;
      const { error } = jsonRpcError(err, log, { surface: 'mcp-sdk' }).body;
      throw Object.assign(new Error(error.message), { code: error.code });
    }
  };
}
