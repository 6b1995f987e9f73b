import type { ProviderDefinition, ToolDefinition } from '../../providers/schema.js';

export interface UpstreamRequest {
  url: URL;
  method: string;
  body: string | undefined;
}

/** Arguments that would make the request leave `api_base_url`. */
export class UnsafeArgumentError extends Error {}

/**
 * Turns validated arguments into the upstream request. Path params are percent-encoded into
 * their own segment, and the result must still live under `api_base_url`: a tool can never be
 * steered to another host or path (SSRF), whatever the model sends.
 */
export function buildUpstreamRequest(provider: ProviderDefinition, tool: ToolDefinition, args: Record<string, unknown>): UpstreamRequest {
  const path = tool.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = String(args[name]);
    // WHATWG URL parsing treats "." / ".." (even as %2e) as dot-segments and would climb out.
    if (value === '' || /^(\.|%2e){1,2}$/i.test(value)) throw new UnsafeArgumentError(`"${name}" is not a valid path segment`);
    try {
      return encodeURIComponent(value);
    } catch {
      // A lone UTF-16 surrogate (JSON can carry one) has no UTF-8 encoding.
      throw new UnsafeArgumentError(`"${name}" is not valid Unicode text`);
    }
  });
  const base = new URL(provider.api_base_url);
  const basePath = base.pathname.replace(/\/+$/, '');
  const url = new URL(`${base.origin}${basePath}${path}`);
  if (url.origin !== base.origin || !(url.pathname === basePath || url.pathname.startsWith(`${basePath}/`))) {
    throw new UnsafeArgumentError('the request would leave the provider API');
  }
  const body: Record<string, unknown> = {};
  let hasBody = false;
  for (const [name, param] of Object.entries(tool.params)) {
    const value = args[name];
    if (value === undefined) continue;
    if (param.in === 'query') url.searchParams.set(name, queryValue(value));
    if (param.in === 'body') {
      body[name] = value;
      hasBody = true;
    }
  }
  return { url, method: tool.method, body: hasBody ? JSON.stringify(body) : undefined };
}

function queryValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(String).join(',');
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
