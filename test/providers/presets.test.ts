import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { exchangeCode } from '../../src/connections/oauth-client.js';
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

/** Issue 14: presets people use, beside OwnerRez, each enabled by its credentials' environment variables. */
describe('shipped presets', () => {
  it('each loads from its credentials alone, all load together without a tool-name clash, and every endpoint is HTTPS', async () => {
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

  it('Slack: a user token is read from authed_user of oauth.v2.access (a loopback stand-in with Slack’s answer)', async () => {
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // The shape of https://api.slack.com/methods/oauth.v2.access for user scopes only.
      res.end(JSON.stringify({ ok: true, app_id: 'A1', authed_user: { id: 'U123', scope: 'chat:write,users:read', access_token: 'xoxp-user', token_type: 'user' }, team: { id: 'T1', name: 'Team' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const slack = await preset('slack');
      const local = { ...slack, token_url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/oauth.v2.access` };
      const tokens = await exchangeCode(local, { code: 'c', redirectUri: 'https://x.example/cb', codeVerifier: undefined });
      assert.equal(tokens.accessToken, 'xoxp-user');
      assert.equal(tokens.accountId, 'U123');
      assert.deepEqual(tokens.scopes, ['chat:write', 'users:read']);
    } finally {
      server.close();
    }
    const slack = await preset('slack');
    assert.match(slack.authorization_params.user_scope ?? '', /chat:write/, 'user scopes, so calls act as the person');
    assert.deepEqual(slack.scopes, [], 'no bot scopes');
  });

  it('Google Calendar: offline access for a refresh token, account named by OpenID userinfo, revocation', async () => {
    const google = await preset('google-calendar');
    assert.equal(google.authorization_params.access_type, 'offline');
    assert.equal(google.account?.userinfo_url, 'https://openidconnect.googleapis.com/v1/userinfo');
    assert.equal(google.revocation_url, 'https://oauth2.googleapis.com/revoke');
    const registry = createRegistry([google]);
    assert.equal(registry.tool('gcal_list_events')?.readOnly, true);
    assert.deepEqual(registry.tool('gcal_create_event')?.inputSchema.required, ['calendarId', 'summary', 'start', 'end']);
  });
});
