import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { authorizationUrl, pkcePair, postForm, REDIRECT_URI, registerPublicClient } from '../oauth/support.js';
import { startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { connectMcp, textOf } from '../support/mcp-client.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { browserSkipReason, launchChromium, loginAtUpstream, newPage } from './support.js';

/**
 * The example providers file in docs/providers.md (what the README points a new operator at),
 * taken as written: only its made-up hosts are pointed at a real oidc-provider on loopback, and
 * its `${…}` credentials come from the environment. A person signs in with it on the start page,
 * and an MCP client signs its user in through the consent page, both in real Chromium.
 */
const skip = browserSkipReason();

function exampleProvidersFile(): { providers: Array<Record<string, unknown>> } {
  const doc = readFileSync(new URL('../../docs/providers.md', import.meta.url), 'utf8');
  const json = /```json\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(json, 'docs/providers.md has a JSON example');
  return JSON.parse(json) as { providers: Array<Record<string, unknown>> };
}

describe('the README example provider', { skip, timeout: 90_000 }, () => {
  let db: TestDatabase;
  let upstream: TestUpstream;
  let app: TestApp;
  let browser: Browser;

  before(async () => {
    [db, browser] = await Promise.all([createTestDatabase(), launchChromium()]);
    const file = exampleProvidersFile();
    // The example's ${ACME_CLIENT_ID} and ${ACME_CLIENT_SECRET}, as an operator would set them.
    const env: Record<string, string> = { HITL_API_KEY: 'hk_unused' };
    app = await startApp({
      databaseUrl: db.url,
      providers: async (url) => {
        upstream = await startUpstream({ redirectUris: [`${url}/api/connect/acme/callback`] });
        Object.assign(env, { ACME_CLIENT_ID: upstream.clientId, ACME_CLIENT_SECRET: upstream.clientSecret });
        return file.providers.map((p) =>
          p.id === 'acme'
            ? { ...p, authorization_url: upstream.authorizationUrl, token_url: upstream.tokenUrl, revocation_url: upstream.revocationUrl, api_base_url: upstream.apiBaseUrl }
            : p,
        );
      },
      env,
    });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await upstream?.close();
    await db?.drop();
  });

  it('signs a person in from the start page, creating their account and connecting Acme', async () => {
    const context = await browser.newContext();
    const { page, problems } = await newPage(context, app.url);
    try {
      await page.goto(app.url);
      await page.click('button:has-text("Sign in with Acme")');
      await loginAtUpstream(page, 'readme-reader');
      await page.waitForURL(`${app.url}/dashboard**`);
      assert.match((await page.textContent('[role="status"]')) ?? '', /Acme/);
      assert.match((await page.textContent('#connections')) ?? '', /Connected/);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('signs an MCP client’s user in through “Allow and sign in with Acme”, and its tools run as them', async () => {
    const clientId = await registerPublicClient(app.url);
    const { verifier, challenge } = pkcePair();
    const context = await browser.newContext();
    const { page, problems } = await newPage(context, app.url);
    // The client's redirect URI is on this machine but nothing listens there: answer it here.
    let code: string | null = null;
    await page.route(`${new URL(REDIRECT_URI).origin}/**`, async (route) => {
      code = new URL(route.request().url()).searchParams.get('code');
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at the client' });
    });
    try {
      await page.goto(authorizationUrl(app.url, clientId, challenge).href);
      await page.click('button:has-text("Allow and sign in with Acme")');
      await loginAtUpstream(page, 'readme-client-user');
      await page.waitForURL(`${REDIRECT_URI}**`);
      assert.ok(code, 'the browser came back to the client with a code');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }

    const token = await postForm(`${app.url}/oauth/token`, {
      grant_type: 'authorization_code', code: code as unknown as string, redirect_uri: REDIRECT_URI, client_id: clientId, code_verifier: verifier, resource: `${app.url}/mcp`,
    });
    assert.equal(token.status, 200, await token.clone().text());
    const { access_token } = (await token.json()) as { access_token: string };
    const mcp = await connectMcp(app.url, access_token);
    try {
      const result = await mcp.callTool({ name: 'whoami', arguments: {} });
      assert.equal(result.isError, undefined, textOf(result));
      assert.equal((JSON.parse(textOf(result)) as { id: string }).id, 'readme-client-user');
    } finally {
      await mcp.close();
    }
  });
});
