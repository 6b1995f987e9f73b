import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { ProviderSchema, type OAuth2ProviderDefinition, type ToolDefinition } from '../../src/providers/schema.js';

const PRESET_PATH = new URL('../../src/providers/presets/ownerrez.json', import.meta.url);

/** Loads the shipped preset the way the server does: placeholders filled from "the environment", then the strict schema. */
async function loadPreset(): Promise<OAuth2ProviderDefinition> {
  const raw = (await readFile(PRESET_PATH, 'utf8'))
    .replaceAll('${OWNERREZ_CLIENT_ID}', 'c_test_client')
    .replaceAll('${OWNERREZ_CLIENT_SECRET}', 's_test_secret');
  assert.doesNotMatch(raw, /\$\{[A-Z0-9_]+\}/, 'the preset references only OWNERREZ_CLIENT_ID and OWNERREZ_CLIENT_SECRET');
  const provider = ProviderSchema.parse(JSON.parse(raw));
  assert.equal(provider.auth, 'oauth2');
  return provider as OAuth2ProviderDefinition;
}

function tool(provider: OAuth2ProviderDefinition, name: string): ToolDefinition {
  const found = provider.tools.find((t) => t.name === name);
  assert.ok(found, `tool ${name} exists`);
  return found;
}

test('the OwnerRez preset parses and talks to the OwnerRez OAuth endpoints with HTTP Basic client auth', async () => {
  const p = await loadPreset();
  assert.equal(p.id, 'ownerrez');
  assert.equal(p.name, 'OwnerRez');
  assert.equal(p.authorization_url, 'https://app.ownerrez.com/oauth/authorize');
  assert.equal(p.token_url, 'https://api.ownerrez.com/oauth/access_token');
  assert.equal(p.token_auth, 'client_secret_basic');
  assert.equal(p.client_id, 'c_test_client');
  assert.equal(p.client_secret, 's_test_secret');
  assert.deepEqual(p.scopes, [], 'OwnerRez apps have no scopes');
  assert.equal(p.pkce, false);
  assert.equal(p.account_id_field, 'user_id');
});

test('disconnecting revokes the token with DELETE /oauth/access_token/{token}', async () => {
  const p = await loadPreset();
  assert.equal(p.revocation_url, 'https://api.ownerrez.com/oauth/access_token/{token}');
  assert.equal(p.revocation_method, 'DELETE');
});

test('tools call the v2 API with a descriptive User-Agent', async () => {
  const p = await loadPreset();
  assert.equal(p.api_base_url, 'https://api.ownerrez.com/v2');
  assert.match(p.user_agent ?? '', /^mcp-oauth-proxy\/\S+ \(.+\)$/);
});

test('every tool is an ownerrez_ read-only tool with a unique name and described params', async () => {
  const p = await loadPreset();
  assert.ok(p.tools.length >= 10, 'the preset covers the resources a host uses');
  const names = p.tools.map((t) => t.name);
  assert.equal(new Set(names).size, names.length, `duplicate tool names in ${names.join(', ')}`);
  for (const t of p.tools) {
    assert.match(t.name, /^ownerrez_/, `${t.name} is prefixed`);
    assert.equal(t.method, 'GET', `${t.name} only reads`);
    assert.ok(t.description.length >= 40, `${t.name} has a description a model can act on`);
    for (const [param, def] of Object.entries(t.params)) {
      assert.ok(def.description && def.description.length >= 10, `${t.name}.${param} is described`);
    }
  }
});

test('the core resources a host asks about each have a tool', async () => {
  const p = await loadPreset();
  const paths = new Set(p.tools.map((t) => t.path));
  for (const path of [
    '/users/me',
    '/properties',
    '/properties/{id}',
    '/bookings',
    '/bookings/{id}',
    '/guests',
    '/guests/{id}',
    '/quotes',
    '/inquiries',
    '/listings',
    '/reviews',
    '/messages',
  ]) {
    assert.ok(paths.has(path), `a tool calls ${path}`);
  }
});

test('listing bookings filters by property_ids, since_utc, from, to and status in the query', async () => {
  const bookings = tool(await loadPreset(), 'ownerrez_list_bookings');
  assert.equal(bookings.path, '/bookings');
  for (const name of ['property_ids', 'since_utc', 'from', 'to', 'status', 'limit', 'offset']) {
    assert.equal(bookings.params[name]?.in, 'query', `bookings has query param ${name}`);
    assert.equal(bookings.params[name]?.required, false, `${name} is optional`);
  }
  // OwnerRez takes several property ids as one comma-separated value.
  assert.equal(bookings.params.property_ids?.type, 'array');
  assert.equal(bookings.params.property_ids?.items?.type, 'integer');
});

test('searching guests takes q in the query', async () => {
  const guests = tool(await loadPreset(), 'ownerrez_list_guests');
  assert.equal(guests.path, '/guests');
  assert.equal(guests.params.q?.in, 'query');
  assert.equal(guests.params.q?.type, 'string');
});

test('get-by-id tools take a required integer id in the path', async () => {
  const p = await loadPreset();
  const byId = p.tools.filter((t) => t.path.endsWith('/{id}'));
  assert.ok(byId.length >= 5);
  for (const t of byId) {
    assert.deepEqual(
      { in: t.params.id?.in, type: t.params.id?.type, required: t.params.id?.required },
      { in: 'path', type: 'integer', required: true },
      `${t.name} id param`,
    );
  }
});
