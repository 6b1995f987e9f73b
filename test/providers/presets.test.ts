import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadProviders } from '../../src/providers/load.js';
import { createRegistry } from '../../src/providers/registry.js';
import type { OAuth2ProviderDefinition } from '../../src/providers/schema.js';

const ALL = {
  OWNERREZ_CLIENT_ID: 'o', OWNERREZ_CLIENT_SECRET: 'os',
  GOOGLE_CLIENT_ID: 'g.apps.googleusercontent.com', GOOGLE_CLIENT_SECRET: 'gs',
  SLACK_CLIENT_ID: '123.456', SLACK_CLIENT_SECRET: 'ss',
};

test('each preset is enabled by its own two credentials, and only by both', async () => {
  assert.deepEqual((await loadProviders(undefined, { GOOGLE_CLIENT_ID: 'x' })).map((p) => p.id), []);
  assert.deepEqual((await loadProviders(undefined, { GOOGLE_CLIENT_ID: 'x', GOOGLE_CLIENT_SECRET: 'y' })).map((p) => p.id), ['google-calendar']);
  assert.deepEqual((await loadProviders(undefined, { SLACK_CLIENT_ID: 'x', SLACK_CLIENT_SECRET: 'y' })).map((p) => p.id), ['slack']);
  const all = await loadProviders(undefined, ALL);
  assert.deepEqual(all.map((p) => p.id), ['ownerrez', 'google-calendar', 'slack']);
  // Tool names are global in MCP: the presets never clash with each other.
  assert.ok(createRegistry(all).tools.length > 20);
});

test('Google Calendar: offline consent for a refresh token, PKCE, the account from the id_token, revocation', async () => {
  const [google] = (await loadProviders(undefined, { GOOGLE_CLIENT_ID: 'g', GOOGLE_CLIENT_SECRET: 'gs' })) as OAuth2ProviderDefinition[];
  assert.ok(google);
  assert.ok(google.scopes.includes('openid'), 'openid: the id_token names the account');
  assert.deepEqual([google.authorization_params.access_type, google.authorization_params.prompt], ['offline', 'consent']);
  assert.equal(google.pkce, true);
  assert.equal(google.revocation_url, 'https://oauth2.googleapis.com/revoke');
  const readOnly = createRegistry([google]).tools.filter((t) => t.readOnly).map((t) => t.name);
  assert.deepEqual(readOnly, ['gcal_list_calendars', 'gcal_list_events', 'gcal_get_event']);
});

test('Slack: user scopes, the token set under authed_user, the Slack user id as the account', async () => {
  const [slack] = (await loadProviders(undefined, { SLACK_CLIENT_ID: 's', SLACK_CLIENT_SECRET: 'ss' })) as OAuth2ProviderDefinition[];
  assert.ok(slack);
  assert.deepEqual(slack.scopes, [], 'no bot scopes');
  assert.match(slack.authorization_params.user_scope ?? '', /search:read/);
  assert.equal(slack.token_response_path, 'authed_user');
  assert.equal(slack.account_id_field, 'authed_user.id');
});
