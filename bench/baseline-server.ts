/**
 * The baseline: what a user would write by hand instead of this project — the MCP SDK's
 * stateless streamable-HTTP server (one McpServer + transport per request, as the SDK's
 * stateless example does), one static upstream token, one tool calling the same upstream
 * endpoint. No keys, no database.
 * env: PORT, UPSTREAM_API (base URL), UPSTREAM_TOKEN.
 */
import express from 'express';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

const api = process.env.UPSTREAM_API as string;
const token = process.env.UPSTREAM_TOKEN as string;

function buildServer(): McpServer {
  const server = new McpServer({ name: 'baseline', version: '1.0.0' });
  server.registerTool('whoami', { description: 'Who am I upstream' }, async () => {
    const res = await fetch(`${api}/me`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    const text = await res.text();
    return { content: [{ type: 'text', text }], isError: !res.ok };
  });
  return server;
}

const app = express();
app.use(express.json());
app.post('/mcp', async (req, res) => {
  const server = buildServer();
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => {
    void transport.close();
    void server.close();
  });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});
const listener = app.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => listener.close(() => process.exit(0)));
