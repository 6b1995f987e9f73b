import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page, Response } from 'playwright-core';
import { authorizationUrl, pkcePair, registerPublicClient } from '../oauth/support.js';
import { bearer, connectionStatus, register } from '../support/app.js';
import { browserSkipReason, launchChromium, loginAtUpstream, newPage, startWebFixture, type WebFixture } from './support.js';

/**
 * A person's whole way through the web page, in real headless Chromium: register, copy the key,
 * connect the test upstream through its real login page, make a read-only key, revoke it,
 * disconnect — then sign out and back in with a key. Every page is checked for console errors
 * and CSP violations.
 */
const skip = browserSkipReason();

/**
 * Runs in the page (as text: these tests are compiled without the DOM library): the focused
 * element's accessible name, and whether it shows a focus ring of at least 2 px.
 */
const FOCUS_PROBE = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const label = el.getAttribute('aria-label') ?? (el.id ? document.querySelector('label[for="' + el.id + '"]')?.textContent : null) ?? el.textContent ?? '';
  return { text: label.trim().replace(/\\s+/g, ' '), ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2 };
})()`;

function focusedId(page: Page): Promise<string | undefined> {
  return page.evaluate<string | undefined>('document.activeElement?.id');
}

describe('the web page, in a real browser', { skip, timeout: 120_000 }, () => {
  let f: WebFixture;
  let browser: Browser;

  before(async () => {
    [f, browser] = await Promise.all([startWebFixture(), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await f?.close();
  });

  /** Clicks `selector` and returns the response to the form's POST (before any redirect is followed). */
  async function submit(page: Page, selector: string, path: string): Promise<Response> {
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === path),
      page.click(selector),
    ]);
    await page.waitForLoadState();
    return response;
  }

  async function fresh(): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: f.app.url });
    return { context, ...(await newPage(context, f.app.url)) };
  }

  it('register → copy the key → connect through the upstream login → read-only key → revoke → disconnect', async () => {
    const { context, page, problems } = await fresh();
    try {
      await page.goto(f.app.url);
      await page.fill('#reg-name', 'Ada Lovelace');
      const registered = await submit(page, 'button:has-text("Create my account")', '/register');
      assert.equal(registered.status(), 201);
      assert.equal(await page.textContent('h1'), 'Your account is ready, Ada Lovelace');
      assert.match((await page.textContent('.secret')) ?? '', /it will not be shown again/);
      const apiKey = ((await page.textContent('#new-key')) ?? '').trim();
      assert.match(apiKey, /^sk_/);

      // The copy button puts exactly the key on the clipboard and says so to screen readers.
      await page.click('button:has-text("Copy key")');
      await page.locator('#copy-status', { hasText: 'The API key copied to the clipboard.' }).waitFor({ state: 'attached' });
      assert.equal(await page.evaluate<string>('navigator.clipboard.readText()'), apiKey);
      // The settings are filled in with it and this server's address.
      const claude = JSON.parse((await page.textContent('#cfg-claude')) ?? '') as { mcpServers: Record<string, { args: string[]; env: Record<string, string> }> };
      const server = Object.values(claude.mcpServers)[0];
      assert.deepEqual(server?.args, ['-y', 'mcp-remote', `${f.app.url}/mcp`, '--header', 'Authorization:${AUTH_HEADER}']);
      assert.equal(server?.env.AUTH_HEADER, `Bearer ${apiKey}`);
      // And the key is real.
      assert.equal((await fetch(`${f.app.url}/api/keys`, { headers: bearer(apiKey) })).status, 200);

      await page.click('a:has-text("Continue to your dashboard")');
      await page.waitForURL(`${f.app.url}/dashboard`);
      assert.equal(await page.textContent('#provider-acme .badge'), 'Not connected');
      await page.click('button:has-text("Connect Acme")');
      await page.waitForURL((url) => url.origin === f.upstream.issuer);
      await loginAtUpstream(page, 'ada');
      await page.waitForURL(/\/dashboard\?notice=connected/);
      assert.equal(await page.textContent('.notice'), 'Acme is connected.');
      assert.equal(await page.textContent('#provider-acme .badge'), 'Connected');
      assert.match((await page.textContent('#provider-acme')) ?? '', /Account ada/);
      assert.equal((await connectionStatus(f.app, apiKey)).account_id, 'ada');

      // A read-only key: only "read-only tools" ticked.
      await page.fill('#key-name', 'reader');
      await page.uncheck('#scope-tools-write');
      assert.equal(await page.isChecked('#scope-tools-read'), true);
      const created = await submit(page, 'button:has-text("Create key")', '/dashboard/keys');
      assert.equal(created.status(), 201);
      assert.equal(await page.textContent('h1'), 'Key created');
      const reader = ((await page.textContent('#new-key')) ?? '').trim();
      assert.match((await page.textContent('#cfg-cursor')) ?? '', /"Bearer \$\{env:MCP_OAUTH_PROXY_API_KEY\}"/);
      assert.equal(await page.textContent('#cfg-cursor-env'), `export MCP_OAUTH_PROXY_API_KEY=${reader}`);
      const listed = (await (await fetch(`${f.app.url}/api/keys`, { headers: bearer(apiKey) })).json()) as { keys: Array<{ id: string; name: string; scopes: string[] }> };
      const readerKey = listed.keys.find((k) => k.name === 'reader');
      assert.deepEqual(readerKey?.scopes, ['tools:read']);
      assert.equal((await fetch(`${f.app.url}/api/connect/acme/status`, { headers: bearer(reader) })).status, 403, 'a read-only key cannot manage connections');

      await page.click('a:has-text("Back to your dashboard")');
      const card = `#key-${readerKey?.id}`;
      await page.click(`${card} summary:has-text("Revoke")`);
      await submit(page, `${card} button:has-text("Revoke reader")`, `/dashboard/keys/${readerKey?.id}/revoke`);
      assert.match((await page.textContent('.notice')) ?? '', /revoked and stops working now/);
      assert.equal(await page.locator(card).count(), 0);
      assert.equal((await fetch(`${f.app.url}/api/usage`, { headers: bearer(reader) })).status, 401);

      await page.click('#provider-acme summary:has-text("Disconnect")');
      await submit(page, '#provider-acme button:has-text("Disconnect Acme")', '/dashboard/connections/acme/disconnect');
      assert.match((await page.textContent('.notice')) ?? '', /^Acme is disconnected/);
      assert.equal(await page.textContent('#provider-acme .badge'), 'Not connected');
      assert.equal((await connectionStatus(f.app, apiKey)).connected, false);
      assert.ok(f.upstream.revocations > 0, 'the tokens were revoked upstream');

      // What happened is in the activity log on the page.
      const events = (await page.textContent('#activity')) ?? '';
      for (const line of ['Registered and signed in on the web page', 'Connected Acme as ada', 'Key created: reader', 'Key revoked: reader', 'Disconnected Acme']) {
        assert.ok(events.includes(line), `activity shows "${line}"`);
      }
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('signs in with a key (a wrong one gets an inline error) and signs out', async () => {
    const { context, page, problems } = await fresh();
    try {
      const reg = await fetch(`${f.app.url}/api/users/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Grace' }) });
      const { api_key: apiKey } = (await reg.json()) as { api_key: string };

      await page.goto(f.app.url);
      await page.fill('#signin-key', `${apiKey.slice(0, -2)}xx`);
      const refused = await submit(page, 'button:has-text("Sign in with key")', '/sign-in');
      assert.equal(refused.status(), 400);
      assert.match((await page.textContent('#signin-key-error')) ?? '', /not valid/);
      assert.equal(await page.inputValue('#signin-key'), '', 'a secret is never typed back into the page');
      assert.equal(await focusedId(page), 'signin-key', 'the field with the problem has the focus');

      await page.fill('#signin-key', apiKey);
      const signedIn = await submit(page, 'button:has-text("Sign in with key")', '/sign-in');
      assert.equal(signedIn.status(), 303);
      await page.waitForURL(`${f.app.url}/dashboard`);
      assert.equal(await page.textContent('.who'), 'Signed in as Grace');
      const cookie = (await context.cookies()).find((c) => c.name === 'mcp_web');
      assert.ok(cookie, 'a session cookie');
      assert.equal(cookie.httpOnly, true);
      assert.equal(cookie.sameSite, 'Lax');
      assert.ok(!cookie.value.includes(apiKey) && cookie.value.length >= 40, 'the cookie is a random id, not the key');

      await submit(page, 'button:has-text("Sign out")', '/sign-out');
      assert.equal(await page.textContent('.notice'), 'You are signed out.');
      assert.equal((await context.cookies()).find((c) => c.name === 'mcp_web'), undefined);
      await page.goto(`${f.app.url}/dashboard`);
      assert.equal(new URL(page.url()).pathname, '/', 'signed out, the dashboard sends the browser to the start page');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('a form without its CSRF token is refused with 403 and changes nothing', async () => {
    const { context, page, problems } = await fresh();
    try {
      await page.goto(f.app.url);
      await page.evaluate(`document.querySelector('form[action="/register"] input[name="csrf_token"]').remove()`);
      const refused = await submit(page, 'button:has-text("Create my account")', '/register');
      assert.equal(refused.status(), 403);
      assert.equal(await page.textContent('h1'), 'Form expired');

      await page.goto(f.app.url);
      await submit(page, 'button:has-text("Create my account")', '/register');
      const apiKey = ((await page.textContent('#new-key')) ?? '').trim();
      await page.goto(`${f.app.url}/dashboard`);
      await page.fill('#key-name', 'forged');
      await page.evaluate(`document.querySelector('#create-key input[name="csrf_token"]').value = 'not-the-token'`);
      const forged = await submit(page, 'button:has-text("Create key")', '/dashboard/keys');
      assert.equal(forged.status(), 403);
      const { keys } = (await (await fetch(`${f.app.url}/api/keys`, { headers: bearer(apiKey) })).json()) as { keys: unknown[] };
      assert.equal(keys.length, 1, 'no key was created');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('an upstream that refuses an API key shows the error in place; a good key is saved', async () => {
    const { context, page, problems } = await fresh();
    try {
      await page.goto(f.app.url);
      await submit(page, 'button:has-text("Create my account")', '/register');
      await page.goto(`${f.app.url}/dashboard`);
      await page.fill('#key-name', 'kept after the error');
      await page.fill('#key-hitl', 'hk_live_refused_9999');
      const refused = await submit(page, '#provider-hitl button:has-text("Save key")', '/dashboard/connections/hitl/key');
      assert.equal(refused.status(), 400);
      assert.match((await page.textContent('#provider-hitl-error')) ?? '', /HITL refused this API key/);
      assert.equal(await page.getAttribute('#key-hitl', 'aria-invalid'), 'true');
      assert.equal(await page.getAttribute('#key-hitl', 'aria-describedby'), 'provider-hitl-error');
      assert.equal(await page.inputValue('#key-hitl'), '', 'the refused key is not typed back');
      assert.equal(await focusedId(page), 'key-hitl');
      assert.equal(await page.textContent('#provider-hitl .badge'), 'Not connected');

      await page.fill('#key-hitl', 'hk_live_good_key_1234');
      await submit(page, '#provider-hitl button:has-text("Save key")', '/dashboard/connections/hitl/key');
      assert.equal(await page.textContent('.notice'), 'Your HITL API key was checked and saved.');
      assert.equal(await page.textContent('#provider-hitl .badge'), 'Connected');
      assert.match((await page.textContent('#provider-hitl')) ?? '', /ending in 1234/);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('the keyboard alone reaches every main action, with a visible focus', async () => {
    const { context, page, problems } = await fresh();
    try {
      /** Tabs through the page once; returns the accessible text of each stop, checking it shows a focus ring. */
      const tabStops = async (): Promise<string[]> => {
        const stops: string[] = [];
        for (let i = 0; i < 80; i += 1) {
          await page.keyboard.press('Tab');
          const stop = await page.evaluate<{ text: string; ring: boolean } | null>(FOCUS_PROBE);
          if (!stop) break;
          assert.ok(stop.ring, `"${stop.text}" shows where the focus is`);
          if (stops.includes(stop.text) && stop.text === stops[0]) break;
          stops.push(stop.text);
        }
        return stops;
      };

      await page.goto(f.app.url);
      const landing = await tabStops();
      assert.equal(landing[0], 'Skip to content');
      for (const action of ['Create my account', 'Sign in with Acme', 'Sign in with key']) assert.ok(landing.includes(action), `${action} is reachable: ${landing.join(' | ')}`);

      // Register with the keyboard only: type the name, press Enter.
      await page.focus('#reg-name');
      await page.keyboard.type('Keyboard Kim');
      await Promise.all([page.waitForURL(`${f.app.url}/register`), page.keyboard.press('Enter')]);
      assert.equal(await page.textContent('h1'), 'Your account is ready, Keyboard Kim');
      const registered = await tabStops();
      for (const action of ['Copy key', 'Continue to your dashboard', 'Sign out']) assert.ok(registered.includes(action), `${action} is reachable: ${registered.join(' | ')}`);

      await page.goto(`${f.app.url}/dashboard`);
      const dashboard = await tabStops();
      for (const action of ['Connect Acme', 'Save key', 'Rotate…', 'Revoke…', 'Create key', 'Copy Claude Desktop settings', 'Copy Cursor settings', 'Copy URL', 'Sign out']) {
        assert.ok(dashboard.includes(action), `${action} is reachable: ${dashboard.join(' | ')}`);
      }
      assert.ok(dashboard.indexOf('Connect Acme') < dashboard.indexOf('Create key'), 'focus follows the reading order');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('signing in through the upstream creates the account once and connects it', async () => {
    const { context, page, problems } = await fresh();
    try {
      for (let round = 0; round < 2; round += 1) {
        await page.goto(f.app.url);
        await page.click('button:has-text("Sign in with Acme")');
        await page.waitForURL((url) => url.origin === f.upstream.issuer);
        await loginAtUpstream(page, 'linus');
        await page.waitForURL(/\/dashboard\?notice=signed_in/);
        assert.equal(await page.textContent('.notice'), 'Signed in with Acme. Your Acme account is connected.');
        assert.equal(await page.textContent('#provider-acme .badge'), 'Connected');
        await submit(page, 'button:has-text("Sign out")', '/sign-out');
      }
      const { rows } = await f.app.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM connections WHERE provider_id = 'acme' AND account_id = 'linus'`);
      assert.equal(rows[0]?.n, 1, 'the second sign-in found the same user');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('the consent page and the callback pages share the look, link back, and load cleanly', async () => {
    const { context, page, problems } = await fresh();
    try {
      const styled = async () => page.evaluate<string>(`getComputedStyle(document.querySelector('.site-header')).backgroundColor`);
      const clientId = await registerPublicClient(f.app.url, { client_name: 'Claude' });
      await page.goto(authorizationUrl(f.app.url, clientId, pkcePair().challenge).href);
      assert.equal(await page.textContent('h1'), 'Allow Claude to use your tools?');
      assert.equal(await styled(), 'rgb(27, 31, 36)', 'the shared stylesheet applies under the sign-in pages’ policy');

      // A connect flow the API started ends on the success page, which links to the dashboard.
      const { apiKey } = await register(f.app, 'api user');
      const start = await fetch(`${f.app.url}/api/connect/acme/start`, { headers: bearer(apiKey) });
      await page.goto(((await start.json()) as { authorization_url: string }).authorization_url);
      // The link leads to our confirmation page first: the key's owner confirms, then logs in upstream.
      assert.equal(await page.textContent('h1'), 'Connect Acme?');
      assert.equal(await styled(), 'rgb(27, 31, 36)');
      await page.fill('#confirm-key', apiKey);
      await page.click('button:has-text("Continue to Acme")');
      await loginAtUpstream(page, 'api-user');
      await page.waitForURL(/\/api\/connect\/acme\/callback/);
      assert.match((await page.textContent('h1')) ?? '', /Acme is connected as api-user/);
      assert.equal(await page.getAttribute('a:has-text("Go to your dashboard")', 'href'), '/dashboard');
      assert.equal(await styled(), 'rgb(27, 31, 36)');

      // A used link: the error page, same look, a way back.
      const used = await page.goto(page.url());
      assert.equal(used?.status(), 400);
      assert.match((await page.textContent('main')) ?? '', /already been used/);
      assert.ok(await page.locator('a[href="/dashboard"]').count());
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
