import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { McpSettings } from '../../providers/mcp-schema.js';
import { McpProtocolError } from './json-rpc-answer.js';

/** Most tools one upstream may offer one user; more is a misbehaving server, not a use case. */
export const MAX_UPSTREAM_TOOLS = 500;
/** tools/list pages read before giving up on an upstream that never stops paginating. */
const MAX_PAGES = 20;

/** One user's view of one upstream's tools, under our names. */
export interface ToolView {
  /** As `tools/list` shows them: prefixed names, the upstream's schema and annotations unchanged. */
  readonly tools: readonly Tool[];
  /** Our name → the upstream's name. */
  readonly upstreamName: ReadonlyMap<string, string>;
  /** Our name → whether `tools:read` may use it (`readOnlyHint: true`). */
  readonly readOnly: ReadonlyMap<string, boolean>;
}

/** Reads every page of the upstream's `tools/list` (each page one request). */
export async function listUpstreamTools(page: (cursor: string | undefined) => Promise<unknown>): Promise<Tool[]> {
  const tools: Tool[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const result = (await page(cursor)) as { tools?: unknown; nextCursor?: unknown } | null;
    if (!result || !Array.isArray(result.tools)) throw new McpProtocolError('tools/list answered without a tools array');
    for (const tool of result.tools as unknown[]) {
      const t = tool as Partial<Tool> | null;
      if (!t || typeof t.name !== 'string' || typeof t.inputSchema !== 'object' || t.inputSchema === null) continue;
      if (tools.length >= MAX_UPSTREAM_TOOLS) return tools;
      tools.push(t as Tool);
    }
    if (typeof result.nextCursor !== 'string' || result.nextCursor === '') return tools;
    cursor = result.nextCursor;
  }
  return tools;
}

/** Applies include/exclude and the prefix; everything else about a tool is passed on as it came. */
export function toToolView(settings: McpSettings, upstream: readonly Tool[]): ToolView {
  const include = settings.include ? new Set(settings.include) : undefined;
  const exclude = new Set(settings.exclude);
  const tools: Tool[] = [];
  const upstreamName = new Map<string, string>();
  const readOnly = new Map<string, boolean>();
  for (const tool of upstream) {
    if ((include && !include.has(tool.name)) || exclude.has(tool.name)) continue;
    const name = `${settings.toolPrefix}${tool.name}`;
    if (upstreamName.has(name)) continue;
    tools.push({ ...tool, name });
    upstreamName.set(name, tool.name);
    readOnly.set(name, tool.annotations?.readOnlyHint === true);
  }
  return { tools, upstreamName, readOnly };
}

/**
 * Views per connection, each for `ttlMs`, at most `max` of them (the oldest goes first). A
 * user's view can differ from another's (upstreams filter tools by account), so it is never shared.
 */
export function createToolViewCache(options: { ttlMs: number; max: number }) {
  const entries = new Map<string, { view: ToolView; until: number }>();
  return {
    get(key: string): ToolView | undefined {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.until > Date.now()) return entry.view;
      entries.delete(key);
      return undefined;
    },
    set(key: string, view: ToolView): void {
      entries.delete(key);
      if (entries.size >= options.max) entries.delete(entries.keys().next().value as string);
      entries.set(key, { view, until: Date.now() + options.ttlMs });
    },
    delete(key: string): void {
      entries.delete(key);
    },
  };
}
export type ToolViewCache = ReturnType<typeof createToolViewCache>;
