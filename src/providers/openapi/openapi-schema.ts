import { z } from 'zod';

/** Without an `operations` list, a spec may give at most this many tools (clients degrade with hundreds). */
export const DEFAULT_MAX_OPENAPI_TOOLS = 40;

/**
 * A provider's `openapi` option: where its OpenAPI 3.0/3.1 document is and which operations
 * become tools (see import-tools.ts).
 */
export const OpenApiImportSchema = z.strictObject({
  /** A file path (relative to the providers file) or an https:// URL; JSON or YAML. */
  spec: z.string().min(1),
  /** operationIds to offer; without it, every usable operation, up to `max_tools`. */
  operations: z.array(z.string().min(1)).min(1).optional(),
  max_tools: z.number().int().min(1).max(1000).default(DEFAULT_MAX_OPENAPI_TOOLS),
  /** Put before every generated tool name (tool names are global across providers). */
  tool_prefix: z.string().regex(/^[A-Za-z0-9_.-]{0,30}$/, 'tool_prefix is up to 30 characters of A-Z a-z 0-9 _ . -').default(''),
});

export type OpenApiImport = z.infer<typeof OpenApiImportSchema>;
