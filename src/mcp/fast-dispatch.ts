import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { Caller } from '../auth/caller.js';
import { callTool, type ToolCallDeps } from './call-tool.js';
import { describeTool } from './describe-tool.js';
import type { RemoteTools } from './remote-tools.js';
import { canUseTool } from './tool-access.js';

/**
 * The hot path of /mcp: a single, well-formed `tools/call`, `tools/list` or `ping` request is
 * answered here directly, without building an SDK Server and transport for it (that costs
 * ~3 ms of CPU per request, more than everything else a tool call does).
 *
 * It is deliberately narrow: anything else — initialize, notifications, batches, unknown
 * tools, odd shapes, unsupported protocol versions — returns `undefined`, and the caller hands
 * the request to the SDK, which stays the protocol implementation for everything. For the
 * requests it does take, the answer is byte-for-byte what the SDK would send in JSON mode.
 */
export interface FastDispatcher {
  /** The JSON response body, or undefined when the SDK must handle the message. */
  dispatch(message: unknown, caller: Caller, protocolVersion: string | undefined): Promise<string> | undefined;
}

const SUPPORTED = new Set<string>(SUPPORTED_PROTOCOL_VERSIONS);
const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const CALL_PARAM_KEYS = new Set(['name', 'arguments', '_meta']);
const LIST_PARAM_KEYS = new Set(['cursor', '_meta']);
const PING_PARAM_KEYS = new Set(['_meta']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(value: Record<string, unknown>, allowed: Set<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

function response(id: string | number, result: string): string {
  return `{"result":${result},"jsonrpc":"2.0","id":${JSON.stringify(id)}}`;
}

export function createFastDispatcher(deps: ToolCallDeps & { registry: ProviderRegistry; remote: RemoteTools }): FastDispatcher {
  // tools/list depends only on whether the key may write: serialise both answers once.
  const restTools = (readOnly: boolean) => deps.registry.tools.filter((t) => canUseTool(readOnly ? ['tools:read'] : ['tools:write'], t)).map(describeTool);
  const listAll = JSON.stringify({ tools: restTools(false) });
  const listReadOnly = JSON.stringify({ tools: restTools(true) });
  // With remote MCP servers the list is partly per user; the REST part is still built once.
  const restAll = restTools(false);
  const restReadOnly = restTools(true);

  return {
    dispatch(message, caller, protocolVersion) {
      if (protocolVersion !== undefined && !SUPPORTED.has(protocolVersion)) return undefined;
      if (!isPlainObject(message) || message.jsonrpc !== '2.0' || !onlyKeys(message, REQUEST_KEYS)) return undefined;
      const { id, method, params } = message;
      if (!(typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)))) return undefined;
      if (params !== undefined && !isPlainObject(params)) return undefined;

      if (method === 'tools/call') {
        if (!params || !onlyKeys(params, CALL_PARAM_KEYS) || typeof params.name !== 'string') return undefined;
        if (params.arguments !== undefined && !isPlainObject(params.arguments)) return undefined;
        const tool = deps.registry.tool(params.name);
        const remote = tool ? undefined : deps.remote.owner(params.name);
        if (remote) {
          return deps.remote.call(caller, remote, params.name, params.arguments as Record<string, unknown> | undefined).then((result) => response(id, JSON.stringify(result)));
        }
        // Unknown or out-of-scope tools are rare: the SDK path words those answers.
        if (!tool || !canUseTool(caller.scopes, tool)) return undefined;
        return callTool(deps, caller, tool, params.arguments).then((result: CallToolResult) => response(id, JSON.stringify(result)));
      }
      if (method === 'tools/list') {
        if (params && !onlyKeys(params, LIST_PARAM_KEYS)) return undefined;
        if (!caller.scopes.includes('tools:write') && !caller.scopes.includes('tools:read')) return undefined;
        const writes = caller.scopes.includes('tools:write');
        if (deps.remote.enabled) {
          return deps.remote.list(caller).then((remote) => response(id, JSON.stringify({ tools: [...(writes ? restAll : restReadOnly), ...remote] })));
        }
        return Promise.resolve(response(id, writes ? listAll : listReadOnly));
      }
      if (method === 'ping') {
        if (params && !onlyKeys(params, PING_PARAM_KEYS)) return undefined;
        return Promise.resolve(response(id, '{}'));
      }
      return undefined;
    },
  };
}
