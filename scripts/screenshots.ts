/**
 * `npm run screenshots`: drives the web page in headless Chromium through every screen, at
 * desktop (1280×800) and phone (390×844) widths, and writes docs/screenshots/<screen>-<width>.png
 * (docs/web.md shows them). Uses the test fixtures: a fresh database, the
 * oidc-provider upstream with its real login page and the API-key upstream; needs the test
 * PostgreSQL and /usr/bin/chromium.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { authorizationUrl, pkcePair, registerPublicClient } from '../test/oauth/support.js';
import { bearer } from '../test/support/app.js';
import { launchChromium, loginAtUpstream, startWebFixture, type WebFixture } from '../test/web/support.js';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;

async function main(): Promise<void> {
  await mkdir(OUT, { recursive: true });
  const fixture = await startWebFixture();
  const browser = await launchChromium();
  try {
    for (const viewport of VIEWPORTS) await shoot(browser, fixture, viewport);
  } finally {
    await browser.close();
    await fixture.close();
  }
}

async function shoot(browser: Browser, f: WebFixture, viewport: (typeof VIEWPORTS)[number]): Promise<void> {
  const context = await browser.newContext({ viewport: { width: viewport.width, height: viewport.height }, deviceScaleFactor: 1, isMobile: viewport.name === 'phone' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const snap = async (screen: string, fullPage = true) => {
    const file = path.join(OUT, `${screen}-${viewport.name}.png`);
    await page.screenshot({ path: file, fullPage });
    process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  };
  const app = f.app.url;

  await page.goto(app);
  await snap('landing');

  await page.fill('#reg-name', 'Ada Lovelace');
  await page.click('button:has-text("Create my account")');
  await page.waitForSelector('#new-key');
  const apiKey = (await page.textContent('#new-key')) ?? '';
  await snap('registered');

  await page.click('a:has-text("Continue to your dashboard")');
  await page.click('button:has-text("Connect Acme")');
  await loginAtUpstream(page, 'ada');
  await page.waitForURL(/\/dashboard/);
  // Some tool calls, so the usage table has something to show.
  await toolCall(app, apiKey, 'whoami');
  await toolCall(app, apiKey, 'get_item', { id: '42' });

  await page.fill('#key-name', 'Claude Desktop on my laptop');
  await page.uncheck('#scope-tools-write');
  await page.selectOption('#key-expires', { label: 'In 90 days' });
  await page.click('button:has-text("Create key")');
  await page.waitForSelector('#new-key');
  await snap('key-created');

  await page.goto(`${app}/dashboard`);
  await page.fill('#key-hitl', 'hk_live_wrong_key_0000');
  await page.click('#provider-hitl button:has-text("Save key")');
  await page.waitForSelector('#provider-hitl-error');
  await page.locator('#provider-hitl').scrollIntoViewIfNeeded();
  await snap('api-key-error', false);

  await page.goto(`${app}/dashboard`);
  await snap('dashboard');

  const clientId = await registerPublicClient(app, { client_name: 'Claude' });
  await page.goto(authorizationUrl(app, clientId, pkcePair().challenge).href);
  await snap('consent');
  await context.close();
}

async function toolCall(appUrl: string, apiKey: string, name: string, args: Record<string, unknown> = {}): Promise<void> {
  const res = await fetch(`${appUrl}/mcp`, {
    method: 'POST',
    headers: { ...bearer(apiKey), 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args } }),
  });
  await res.text();
}

main().catch((err: unknown) => {
  process.stderr.write(`screenshots failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
