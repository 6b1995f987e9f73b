import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { loadProviders } from '../../src/providers/load.js';
import { createRegistry } from '../../src/providers/registry.js';
import type { OAuth2ProviderDefinition, ProviderDefinition } from '../../src/providers/schema.js';
import { GITHUB_DESCRIPTION, githubPresetSpec } from '../../scripts/github-openapi.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CREDENTIALS = {
  github: { GITHUB_CLIENT_ID: 'gh-id', GITHUB_CLIENT_SECRET: 'gh-secret' },
  'google-calendar': { GOOGLE_CLIENT_ID: 'g-id', GOOGLE_CLIENT_SECRET: 'g-secret' },
  slack: { SLACK_CLIENT_ID: 's-id', SLACK_CLIENT_SECRET: 's-secret' },
  ownerrez: { OWNERREZ_CLIENT_ID: 'o-id', OWNERREZ_CLIENT_SECRET: 'o-secret' },
} as const;

async function preset(id: keyof typeof CREDENTIALS): Promise<OAuth2ProviderDefinition> {
  const providers = await loadProviders(undefined, CREDENTIALS[id]);
  assert.deepEqual(providers.map((p) => p.id), [id], `only ${id} is enabled by its credentials`);
  return providers[0] as OAuth2ProviderDefinition;
}

/** Issue 14: the GitHub preset, generated from GitHub's official OpenAPI description; and every preset's endpoints. */
describe('the GitHub preset', () => {
  it('loads beside every other preset without a tool-name clash, and every preset endpoint is HTTPS', async () => {
    const all = await loadProviders(undefined, Object.assign({}, ...Object.values(CREDENTIALS)) as NodeJS.ProcessEnv);
    assert.deepEqual(all.map((p) => p.id).sort(), ['github', 'google-calendar', 'ownerrez', 'slack']);
    const registry = createRegistry(all);
    assert.ok(registry.tools.length > 40);
    for (const p of all as Array<ProviderDefinition & Partial<OAuth2ProviderDefinition>>) {
      const urls = [p.authorization_url, p.token_url, p.revocation_url, p.api_base_url, p.account?.userinfo_url].filter((u): u is string => u !== undefined);
      for (const url of urls) assert.equal(new URL(url).protocol, 'https:', `${p.id}: ${url}`);
    }
    assert.equal((await loadProviders(undefined, { GITHUB_CLIENT_ID: 'only-the-id' })).length, 0, 'a preset needs all of its credentials');
  });

  it('GitHub: 20 curated tools from the official description, account named by GET /user, read-only where GET', async () => {
    const github = await preset('github');
    assert.equal(github.tools.length, 20);
    assert.deepEqual(github.account, { request: { method: 'GET', path: '/user' }, id: 'id', name: 'login' });
    const registry = createRegistry([github]);
    assert.equal(registry.tool('github_search_issues-and-pull-requests')?.readOnly, true);
    assert.equal(registry.tool('github_issues_create')?.readOnly, false);
    const create = registry.tool('github_issues_create');
    assert.deepEqual(create?.inputSchema.required, ['owner', 'repo', 'title']);
  });

  it('GitHub: the committed spec is exactly what scripts/github-openapi.ts cuts from @octokit/openapi', async () => {
    const committed = await readFile(new URL('../../src/providers/presets/github-openapi.json', import.meta.url), 'utf8');
    assert.equal(committed, await githubPresetSpec(), 'run `node --import tsx scripts/github-openapi.ts` after changing the preset');
  });

  it('GitHub: every tool’s method, path and params exist in GitHub’s full description', async () => {
    const full = JSON.parse(await readFile(GITHUB_DESCRIPTION, 'utf8')) as Json;
    const resolve = (node: Json): Json => (typeof node.$ref === 'string' ? resolve(node.$ref.split('/').slice(1).reduce((n: Json, k: string) => n[k], full)) : node);
    for (const tool of (await preset('github')).tools) {
      const op = full.paths[tool.path]?.[tool.method.toLowerCase()] as Json | undefined;
      assert.ok(op, `${tool.method} ${tool.path} is in the description`);
      const names = new Set([...(full.paths[tool.path].parameters ?? []), ...(op.parameters ?? [])].map((p: Json) => `${resolve(p).in}:${resolve(p).name}`));
      const body = op.requestBody ? resolve(resolve(op.requestBody).content['application/json'].schema) : undefined;
      for (const [name, param] of Object.entries(tool.params)) {
        if (param.in === 'body') assert.ok(body?.properties?.[name], `${tool.name}: body property ${name}`);
        else assert.ok(names.has(`${param.in}:${name}`), `${tool.name}: ${param.in} parameter ${name}`);
      }
    }
  });
});
