import { ToolSchema, type ToolDefinition } from '../schema.js';
import type { OpenApiImport } from './openapi-schema.js';
import type { OpenApiDocument } from './load-spec.js';
import { operationTool, UnsupportedOperation, type Operation } from './operation-tool.js';
import type { Schema } from './json-schema.js';

const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete'] as const;

/** The tools an OpenAPI import gives, or every reason it cannot (for the start-up error). */
export type ImportResult = { tools: ToolDefinition[]; skipped: string[] } | { problems: string[] };

/**
 * Turns the document's operations into tools. With `operations`, exactly those (each must exist
 * and be usable here); without, every usable one — and more than `max_tools` of them is an error,
 * because MCP clients degrade badly with hundreds of tools.
 */
export function importTools(doc: OpenApiDocument, options: OpenApiImport): ImportResult {
  const operations = operationsOf(doc);
  const problems: string[] = [];
  const skipped: string[] = [];
  const tools: ToolDefinition[] = [];
  let chosen: Operation[];
  if (options.operations) {
    chosen = [];
    for (const id of options.operations) {
      const op = operations.find((o) => o.operationId === id);
      if (op) chosen.push(op);
      else problems.push(`operation "${id}" is not in the spec`);
    }
  } else {
    chosen = operations;
  }
  for (const op of chosen) {
    const label = op.operationId ?? `${op.method.toUpperCase()} ${op.path}`;
    try {
      const parsed = ToolSchema.safeParse(operationTool(op, options.tool_prefix));
      if (!parsed.success) throw new UnsupportedOperation(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      tools.push(parsed.data);
    } catch (err) {
      if (!(err instanceof UnsupportedOperation)) throw err;
      // A listed operation the operator asked for must work; an unlisted one is left out, and said so.
      (options.operations ? problems : skipped).push(`operation "${label}" cannot be a tool: ${err.message}`);
    }
  }
  const names = new Set<string>();
  for (const tool of tools) {
    if (names.has(tool.name)) problems.push(`two operations make the tool name "${tool.name}"; list the ones to offer in "operations"`);
    names.add(tool.name);
  }
  if (!options.operations && tools.length > options.max_tools) {
    problems.push(
      `the spec gives ${tools.length} tools, more than max_tools (${options.max_tools}): MCP clients degrade with that many. ` +
        `List the operationIds to offer in "operations", or raise "max_tools"`,
    );
  }
  return problems.length > 0 ? { problems } : { tools, skipped };
}

/** Every operation, with the path item's parameters merged under the operation's own (OpenAPI 3.0 §4.7.9). */
function operationsOf(doc: OpenApiDocument): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!item || typeof item !== 'object') continue;
    const shared = (Array.isArray(item.parameters) ? item.parameters : []) as Schema[];
    for (const method of METHODS) {
      const op = item[method] as Schema | undefined;
      if (!op || typeof op !== 'object') continue;
      const own = (Array.isArray(op.parameters) ? op.parameters : []) as Schema[];
      const key = (p: Schema) => `${String(p.in)}:${String(p.name)}`;
      const parameters = [...shared.filter((p) => !own.some((o) => key(o) === key(p))), ...own];
      out.push({
        method,
        path,
        operationId: typeof op.operationId === 'string' ? op.operationId : undefined,
        ...(typeof op.summary === 'string' ? { summary: op.summary } : {}),
        ...(typeof op.description === 'string' ? { description: op.description } : {}),
        parameters,
        ...(op.requestBody && typeof op.requestBody === 'object' ? { requestBody: op.requestBody as Schema } : {}),
      });
    }
  }
  return out;
}
