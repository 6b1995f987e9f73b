/**
 * Ready-made settings for the MCP clients people use, with this server's real address and, when
 * the person has just been shown one, their key. The server never has the plaintext of an older
 * key, so otherwise a placeholder stands in (see README "Connecting MCP clients").
 */
export const KEY_PLACEHOLDER = 'sk_…';

/** The name the server gets in a client's list; clients key their config objects by it. */
const SERVER_NAME = 'mcp-oauth-proxy';

/** The environment variable Cursor reads the key from, so `.cursor/mcp.json` can be committed. */
export const CURSOR_KEY_VARIABLE = 'MCP_OAUTH_PROXY_API_KEY';

export interface ClientSettings {
  /** `${PUBLIC_URL}/mcp`: what ChatGPT and Claude.ai take as the connector URL (they sign in with OAuth). */
  mcpUrl: string;
  /** `claude_desktop_config.json`, through mcp-remote; the header value travels in `env`. */
  claudeDesktop: string;
  /** `.cursor/mcp.json`, with the key as `${env:…}`: a project's file is often committed. */
  cursor: string;
  /** The shell line that gives Cursor the key (`export CURSOR_KEY_VARIABLE=…`). */
  cursorEnv: string;
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
  // Cursor expands ${env:NAME} in mcp.json (url, headers, …) from the environment it started in.
  const cursor = { mcpServers: { [SERVER_NAME]: { url: mcpUrl, headers: { Authorization: `Bearer \${env:${CURSOR_KEY_VARIABLE}}` } } } };
  const cursorEnv = `export ${CURSOR_KEY_VARIABLE}=${shellQuote(apiKey ?? KEY_PLACEHOLDER)}`;
  return { mcpUrl, claudeDesktop: pretty(claudeDesktop), cursor: pretty(cursor), cursorEnv };
}

/** Indented JSON with arrays of strings kept on one line, as people write these files. */
function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/\[\n\s*((?:"(?:[^"\\]|\\.)*",?\n\s*)+)\]/g, (_, items: string) => `[${items.split(/,?\n\s*/).filter(Boolean).join(', ')}]`);
}

/** As is when the shell would not touch it; else POSIX single quotes (a quote inside closed, escaped, reopened). */
function shellQuote(value: string): string {
  if (/^[A-Za-z0-9_.-]+$/.test(value)) return value;
  return `'${value.replaceAll("'", "'\\''")}'`;
}
