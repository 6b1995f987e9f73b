import type { z } from 'zod';
import type { ProviderDefinition, ToolDefinition } from './schema.js';
import { toArgumentValidator, toInputSchema, type JsonSchemaObject } from './tool-schema.js';

/** A provider tool, ready to list and to call. */
export interface RegisteredTool {
  readonly name: string;
  readonly description: string;
  readonly provider: ProviderDefinition;
  readonly definition: ToolDefinition;
  readonly inputSchema: JsonSchemaObject;
  readonly validator: z.ZodType<Record<string, unknown>>;
  /** GET tools are the only ones a `tools:read` key may see and call. */
  readonly readOnly: boolean;
}

export interface ProviderRegistry {
  readonly providers: readonly ProviderDefinition[];
  readonly tools: readonly RegisteredTool[];
  provider(id: string): ProviderDefinition | undefined;
  tool(name: string): RegisteredTool | undefined;
}

/** Indexes providers and their tools. Tool names are global in MCP, so a clash is fatal. */
export function createRegistry(providers: readonly ProviderDefinition[]): ProviderRegistry {
  const byId = new Map(providers.map((p) => [p.id, p]));
  const byName = new Map<string, RegisteredTool>();
  const clashes: string[] = [];
  for (const provider of providers) {
    for (const definition of provider.tools) {
      const other = byName.get(definition.name);
      if (other) {
        clashes.push(`tool "${definition.name}" is defined by both "${other.provider.id}" and "${provider.id}"`);
        continue;
      }
      byName.set(definition.name, {
        name: definition.name,
        description: `${definition.description} (${provider.name})`,
        provider,
        definition,
        inputSchema: toInputSchema(definition),
        validator: toArgumentValidator(definition),
        readOnly: definition.method === 'GET',
      });
    }
  }
  if (clashes.length > 0) throw new Error(`Tool names must be unique across providers:\n  - ${clashes.join('\n  - ')}`);
  const tools = [...byName.values()];
  return { providers, tools, provider: (id) => byId.get(id), tool: (name) => byName.get(name) };
}
