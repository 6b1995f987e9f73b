import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { z } from 'zod';
import { releaseAnsweredJsonStreams } from './json-mode-leak.js';

/** A real remote MCP server (the SDK's McpServer over streamable HTTP) behind bearer auth. */
export interface McpUpstream {
  /** `http://127.0.0.1:PORT/mcp` */
  url: string;
  origin: string;
  /** initialize requests accepted (one per session the proxy opened). */
  initializations: number;
  /** The Authorization header of every request that reached the MCP endpoint. */
  authorizations: string[];
  /** Adds a tool (`echo_<name>`-style) to every session, live and future. */
  addTool(name: string): void;
  /** Forgets every session: the next request naming one gets 404, as after a restart. */
  expireSessions(): void;
  /** `hang` calls received so far (see McpUpstreamOptions.hangingTool). */
  hanging: number;
  /** Answer every request with this status (e.g. 503), or behave again (undefined). */
  setStatus(status: number | undefined): void;
  close(): Promise<void>;
}

export interface McpUpstreamOptions {
  /** The account a request's Authorization header belongs to, or undefined (then 401). */
  verify(authorization: string | undefined): Promise<string | undefined> | string | undefined;
  /** Answer POSTs with SSE streams instead of JSON (default false: JSON). */
  sse?: boolean;
  /** Served at /.well-known/oauth-protected-resource/mcp and named in the 401's `resource_metadata` (OAuth upstreams). */
  resourceMetadata?: Record<string, unknown>;
  /**
   * Also offer `hang`, a tool that never answers (like a wedged server): its requests are counted
   * in `hanging` and end only when the client gives up or the upstream closes.
   */
  hangingTool?: boolean;
}

function registerTools(server: McpServer, extra: readonly string[], hang: (() => void) | undefined): void {
  const account = (info: AuthInfo | undefined): string => String(info?.extra?.account ?? 'nobody');
  server.registerTool(
    'whoami',
    { description: 'Who the token belongs to', inputSchema: {}, outputSchema: { account: z.string() }, annotations: { readOnlyHint: true } },
    async (_args, ctx) => ({ content: [{ type: 'text', text: account(ctx.authInfo) }], structuredContent: { account: account(ctx.authInfo) } }),
  );
  server.registerTool(
    'write_note',
    { description: 'Writes a note as the account', inputSchema: { text: z.string() }, annotations: { readOnlyHint: false } },
    async ({ text }, ctx) => ({ content: [{ type: 'text', text: `${account(ctx.authInfo)} wrote ${text}` }], _meta: { 'example.com/note': text } }),
  );
  server.registerTool('fail', { description: 'Always fails', inputSchema: {} }, async () => ({ content: [{ type: 'text', text: 'it failed upstream' }], isError: true }));
  for (const name of extra) addOne(server, name);
  if (hang) {
    server.registerTool('hang', { description: 'Never answers', inputSchema: {}, annotations: { readOnlyHint: true } }, () => {
      hang();
      return new Promise<never>(() => undefined);
    });
  }
}

function addOne(server: McpServer, name: string): void {
  server.registerTool(name, { description: `Added later: ${name}`, inputSchema: {}, annotations: { readOnlyHint: true } }, async () => ({ content: [{ type: 'text', text: `${name} works` }] }));
}

/**
 * The MCP endpoint as a request handler, for mounting on another server (the OAuth upstream, so
 * the MCP server and its authorization server share an origin). `handle` resolves false for
 * paths it does not serve; `bind` sets the origin once the host server listens.
 */
export function createMcpUpstream(options: McpUpstreamOptions): { upstream: McpUpstream; handle(req: IncomingMessage, res: ServerResponse): Promise<boolean>; bind(origin: string): void } {
  const sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();
  const extraTools: string[] = [];
  let forcedStatus: number | undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/.well-known/oauth-protected-resource/mcp' && options.resourceMetadata) {
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(options.resourceMetadata));
    }
    if (forcedStatus) return void res.writeHead(forcedStatus, { 'content-type': 'text/plain' }).end('forced by the test');
    upstream.authorizations.push(req.headers.authorization ?? '');
    const account = await options.verify(req.headers.authorization);
    if (!account) {
      const challenge = options.resourceMetadata ? `Bearer resource_metadata="${upstream.origin}/.well-known/oauth-protected-resource/mcp"` : 'Bearer';
      return void res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' }).end('{"error":"invalid_token"}');
    }
    Object.assign(req, { auth: { token: 'x', clientId: 'proxy', scopes: [], extra: { account } } satisfies AuthInfo });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
    const id = req.headers['mcp-session-id'];
    if (typeof id === 'string') {
      const session = sessions.get(id);
      if (!session) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null}');
      return session.transport.handleRequest(req, res, body);
    }
    const server = new McpServer({ name: 'test-upstream', version: '1' });
    registerTools(server, extraTools, options.hangingTool ? () => void (upstream.hanging += 1) : undefined);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      enableJsonResponse: !options.sse,
      onsessioninitialized: (sid) => {
        upstream.initializations += 1;
        sessions.set(sid, { transport, server });
      },
    });
    if (!options.sse) releaseAnsweredJsonStreams(transport);
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const upstream: McpUpstream = {
    url: '',
    origin: '',
    initializations: 0,
    hanging: 0,
    authorizations: [],
    addTool(name) {
      extraTools.push(name);
      for (const { server } of sessions.values()) addOne(server, name);
    },
    expireSessions() {
      for (const { transport } of sessions.values()) void transport.close();
      sessions.clear();
    },
    setStatus(status) {
      forcedStatus = status;
    },
    async close() {
      upstream.expireSessions();
    },
  };
  return {
    upstream,
    bind(origin) {
      upstream.origin = origin;
      upstream.url = `${origin}/mcp`;
    },
    async handle(req, res) {
      const path = (req.url ?? '/').split('?')[0];
      if (path !== '/mcp' && !(path === '/.well-known/oauth-protected-resource/mcp' && options.resourceMetadata)) return false;
      await handle(req, res).catch((err: unknown) => {
        console.error('test MCP upstream failed:', err);
        if (!res.headersSent) res.writeHead(500).end();
      });
      return true;
    },
  };
}

/** The MCP endpoint on a server of its own (API-key and no-auth upstreams). */
export async function startMcpUpstream(options: McpUpstreamOptions): Promise<McpUpstream> {
  const mounted = createMcpUpstream(options);
  const http = createServer((req, res) => {
    void mounted.handle(req, res).then((served) => {
      if (!served) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  mounted.bind(`http://127.0.0.1:${(http.address() as AddressInfo).port}`);
  const upstream = mounted.upstream;
  const closeSessions = upstream.close;
  upstream.close = async () => {
    await closeSessions();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  };
  return upstream;
}
