/**
 * The benchmark's remote MCP server in a process of its own: the tests' MCP SDK server behind a
 * static bearer key (`MCP_UPSTREAM_KEY`). Prints `{"url":…}` as one line, then serves until SIGTERM.
 */
import { startMcpUpstream } from '../test/remote-mcp/support/mcp-upstream.js';

const key = process.env.MCP_UPSTREAM_KEY ?? '';
const upstream = await startMcpUpstream({ verify: (auth) => (key && auth === `Bearer ${key}` ? 'bench-user' : undefined) });
// The benchmark only counts; keeping every Authorization header seen would grow without bound.
upstream.authorizations.push = () => 0;
process.stdout.write(`${JSON.stringify({ url: upstream.url })}\n`);
process.on('SIGTERM', () => {
  void upstream.close().then(() => process.exit(0));
});
