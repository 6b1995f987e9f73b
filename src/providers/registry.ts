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
  /** GET and HEAD tools are the only ones a `tools:read` key may see and call. */
  readonly readOnly: boolean;
}

export interface ProviderRegistry {
  readonly providers: readonly ProviderDefinition[];
  readonly tools: readonly RegisteredTool[];
  provider(id: string): ProviderDefinition | undefined;
  tool(name: string): RegisteredTool | undefined;
  /**
   * The provider once its definition is complete. A remote MCP server behind OAuth learns its
   * endpoints and client at run time (upstreams/mcp/oauth-provider.ts); every other provider is
   * complete from the start. Concurrent callers share one preparation; a failed one is retried.
   */
  ready(id: string): Promise<ProviderDefinition | undefined>;
  /** The run-time part of a provider's definition is stale (its registered client was forgotten): prepare it again on next use. */
  invalidate(id: string): void;
  /** Installs how incomplete providers are completed (app.ts wires the discovery). */
  setPreparer(prepare: (provider: ProviderDefinition) => Promise<ProviderDefinition>): void;
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
        readOnly: definition.method === 'GET' || definition.method === 'HEAD',
      });
    }
  }
  if (clashes.length > 0) throw new Error(`Tool names must be unique across providers:\n  - ${clashes.join('\n  - ')}`);
  const tools = [...byName.values()];
  // The preparer always starts from the providers file's definition, never from an earlier result.
  const originals = new Map(byId);
  const preparing = new Map<string, Promise<ProviderDefinition>>();
  const prepared = new Set<string>();
  let preparer: ((provider: ProviderDefinition) => Promise<ProviderDefinition>) | undefined;
  return {
    get providers() {
      return [...byId.values()];
    },
    tools,
    provider: (id) => byId.get(id),
    tool: (name) => byName.get(name),
    async ready(id) {
      const provider = byId.get(id);
      if (!provider || !preparer || provider.auth !== 'oauth2' || !provider.mcp || prepared.has(id)) return provider;
      let running = preparing.get(id);
      if (!running) {
        running = preparer(originals.get(id) ?? provider).then(
          (done) => {
            byId.set(id, done);
            prepared.add(id);
            preparing.delete(id);
            return done;
          },
          (err: unknown) => {
            preparing.delete(id);
            throw err;
          },
        );
        preparing.set(id, running);
      }
      return running;
    },
    invalidate(id) {
      prepared.delete(id);
    },
    setPreparer(prepare) {
      preparer = prepare;
    },
  };
}
