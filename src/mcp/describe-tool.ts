import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { RegisteredTool } from '../providers/registry.js';

/** A provider tool as MCP clients see it in `tools/list`. */
export function describeTool(tool: RegisteredTool): Tool {
  return {
    name: tool.name,
    title: tool.definition.name,
    description: tool.description,
    inputSchema: tool.inputSchema,
    annotations: { readOnlyHint: tool.readOnly, openWorldHint: true },
  };
}
