/**
 * Ready-made settings for the MCP clients people use, with this server's real address and, when
 * the person has just been shown one, their key. The server never has the plaintext of an older
 * key, so otherwise a placeholder stands in (see README "Connecting MCP clients").
 */
export const KEY_PLACEHOLDER = 'sk_…';

/** The name the server gets in a client's list; clients key their config objects by it. */
const SERVER_NAME = 'mcp-oauth-proxy';

export interface ClientSettings {
  /** `${PUBLIC_URL}/mcp`: what ChatGPT and Claude.ai take as the connector URL (they sign in with OAuth). */
  mcpUrl: string;
  /** `claude_desktop_config.json`, through mcp-remote; the header value travels in `env`. */
  claudeDesktop: string;
  /** `.cursor/mcp.json`. */
  cursor: string;
}

export function clientSettings(publicUrl: string, apiKey: string | undefined): ClientSettings {
  const mcpUrl = `${publicUrl}/mcp`;
  const authorization = `Bearer ${apiKey ?? KEY_PLACEHOLDER}`;
  const claudeDesktop = {
    mcpServers: {
      [SERVER_NAME]: {
        command: 'npx',
        // -y: without it npx asks before installing, and refuses where npm's `yes` is false.
        // Claude Desktop on Windows mangles spaces inside args, so the header value comes from env.
        args: ['-y', 'mcp-remote', mcpUrl, '--header', 'Authorization:${AUTH_HEADER}'],
        env: { AUTH_HEADER: authorization },
      },
    },
  };
  const cursor = { mcpServers: { [SERVER_NAME]: { url: mcpUrl, headers: { Authorization: authorization } } } };
  return { mcpUrl, claudeDesktop: pretty(claudeDesktop), cursor: pretty(cursor) };
}

/** Indented JSON with arrays of strings kept on one line, as people write these files. */
function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/\[\n\s*((?:"(?:[^"\\]|\\.)*",?\n\s*)+)\]/g, (_, items: string) => `[${items.split(/,?\n\s*/).filter(Boolean).join(', ')}]`);
}
