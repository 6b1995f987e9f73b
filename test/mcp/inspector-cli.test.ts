import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { registerAndConnect, startAppWithUpstream } from '../support/app.js';
import { childEnv, describeRun, runProcess } from '../support/run-process.js';

/**
 * The MCP Inspector CLI (`@modelcontextprotocol/inspector-cli`, as in
 * `npx -p @modelcontextprotocol/inspector-cli@1.0.3 mcp-inspector-cli --cli URL --transport http
 * --header "Authorization: Bearer sk_…" --method tools/list`) works against /mcp.
 */

const PACKAGE = fileURLToPath(new URL('../../node_modules/@modelcontextprotocol/inspector-cli/', import.meta.url));
const CLI = path.join(PACKAGE, 'build/cli.js');
const TIMEOUT_MS = 30_000;

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

describe('the MCP Inspector CLI', () => {
  let f: Fixture;
  let apiKey: string;

  before(async () => {
    f = await startAppWithUpstream();
    apiKey = (await registerAndConnect(f.app, 'ines')).apiKey;
  });
  after(async () => {
    await f?.close();
  });

  /** Runs `mcp-inspector-cli --cli <app>/mcp …` and returns its JSON answer from stdout. */
  async function inspect(...methodArgs: string[]): Promise<unknown> {
    const args = [CLI, '--cli', `${f.app.url}/mcp`, '--transport', 'http', '--header', `Authorization: Bearer ${apiKey}`, ...methodArgs];
    const run = await runProcess(process.execPath, args, {
      timeoutMs: TIMEOUT_MS - 5_000,
      // inspector-cli 1.0.3 looks for its own package.json as `../package.json` relative to the
      // *working directory* (modelcontextprotocol/inspector#1334), so it only starts from a
      // directory whose parent holds a package.json; its build/ directory is one.
      cwd: path.join(PACKAGE, 'build'),
      // cli.js starts a second `node` from PATH: make it the one running these tests.
      env: childEnv({ PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` }),
    });
    assert.equal(run.exitCode, 0, describeRun(run));
    try {
      return JSON.parse(run.stdout);
    } catch {
      assert.fail(`stdout is not JSON: ${describeRun(run)}`);
    }
  }

  it('tools/list returns the provider tools', { timeout: TIMEOUT_MS }, async () => {
    const result = (await inspect('--method', 'tools/list')) as { tools: Array<{ name: string; inputSchema: unknown }> };
    assert.deepEqual(result.tools.map((t) => t.name).sort(), ['echo', 'get_item', 'large', 'status', 'whoami']);
    assert.ok(result.tools.every((t) => typeof t.inputSchema === 'object'));
  });

  it('tools/call whoami returns the connected user’s upstream account', { timeout: TIMEOUT_MS }, async () => {
    const result = (await inspect('--method', 'tools/call', '--tool-name', 'whoami')) as {
      isError?: boolean;
      content: Array<{ type: string; text: string }>;
    };
    assert.notEqual(result.isError, true, JSON.stringify(result));
    assert.equal(result.content[0]?.type, 'text');
    assert.deepEqual(JSON.parse(result.content[0]?.text ?? ''), { id: 'ines', login: 'ines' });
  });

  it('tools/call passes --tool-arg values as arguments', { timeout: TIMEOUT_MS }, async () => {
    const result = (await inspect('--method', 'tools/call', '--tool-name', 'get_item', '--tool-arg', 'id=a b')) as {
      content: Array<{ text: string }>;
    };
    assert.deepEqual(JSON.parse(result.content[0]?.text ?? ''), { id: 'a b', q: null, owner: 'ines' });
  });
});
