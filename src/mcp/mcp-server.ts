import type { IncomingMessage, ServerResponse } from 'node:http';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { UsageRecorder } from '../usage/usage-recorder.js';
import { VERSION } from '../version.js';
import { callTool, type Caller, type ToolCallDeps } from './call-tool.js';
import { canUseTool } from './tool-access.js';

export interface McpHandler {
  /** Serves one MCP streamable-HTTP request for an authenticated caller. */
  handle(req: IncomingMessage, res: ServerResponse, caller: Caller, body: unknown): Promise<void>;
}

/**
 * Stateless streamable HTTP (no Mcp-Session-Id): every request carries its key and any
 * instance can answer it, so the service scales horizontally with no sticky sessions.
 */
export function createMcpHandler(deps: ToolCallDeps & { registry: ProviderRegistry; usage: UsageRecorder }): McpHandler {
  const describe = (tool: ProviderRegistry['tools'][number]): Tool => ({
    name: tool.name,
    title: tool.definition.name,
    description: tool.description,
    inputSchema: tool.inputSchema,
    annotations: { readOnlyHint: tool.readOnly, openWorldHint: true },
  });

  function buildServer(caller: Caller): Server {
    const server = new Server(
      { name: 'mcp-oauth-proxy', version: VERSION },
      {
        capabilities: { tools: {} },
        instructions: 'Each tool calls an upstream API as the signed-in user. If a tool says an account is not connected, tell the user how to connect it.',
      },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => ({
      tools: deps.registry.tools.filter((tool) => canUseTool(caller.scopes, tool)).map(describe),
    }));
    server.setRequestHandler(CallToolRequestSchema, async (request) => {
      const tool = deps.registry.tool(request.params.name);
      if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
      // Every call of a known tool counts, refused or failed ones as errors (in memory; flushed in batches).
      const count = (ok: boolean): void => deps.usage.record({ userId: caller.userId, providerId: tool.provider.id, tool: tool.name, ok });
      if (!canUseTool(caller.scopes, tool)) {
        count(false);
        return {
          content: [{ type: 'text', text: `insufficient_scope: this API key may only use read-only tools; ${tool.name} needs the tools:write scope.` }],
          isError: true,
        };
      }
      try {
        const result = await callTool(deps, caller, tool, request.params.arguments);
        count(result.isError !== true);
        return result;
      } catch (err) {
        count(false);
        throw err;
      }
    });
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
