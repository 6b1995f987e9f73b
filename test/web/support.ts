import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import type { AppDeps } from '../../src/app.js';
import { startApp, upstreamProvider, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { keyProvider, startKeyUpstream, type KeyUpstream } from '../support/key-upstream.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/** Debian's Chromium (apt-get install chromium), or CHROMIUM_PATH; Playwright never downloads a browser here. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Why the browser tests cannot run, or undefined when they can. In CI (CI=true) a missing
 * Chromium is a failure, not a skip: `.ci/run` installs it, so its absence is a broken setup.
 */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const message = `Chromium is not installed at ${CHROMIUM} (apt-get install chromium)`;
  if (process.env.CI === 'true') throw new Error(`${message}: the web tests cannot run in CI without it.`);
  return `${message}; skipping the browser tests`;
}

/** One headless Chromium per test file, with the flags this machine needs (no background networking). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    timeout: 30_000,
  });
}

/**
 * The app with an OAuth upstream (`acme`, a real oidc-provider with its login page) and two
 * API-key services on one key upstream: `hitl` (each person's own key) and `notes` (with the
 * operator's fallback key).
 */
export interface WebFixture {
  app: TestApp;
  upstream: TestUpstream;
  keyUpstream: KeyUpstream;
  close(): Promise<void>;
}

/** The key the API-key upstream accepts (account `hitl-alice`). */
export const GOOD_UPSTREAM_KEY = 'hk_live_good_key_1234';

export async function startWebFixture(options: { limits?: AppDeps['limits'] } = {}): Promise<WebFixture> {
  const db: TestDatabase = await createTestDatabase();
  const keyUpstream = await startKeyUpstream({ accounts: { [GOOD_UPSTREAM_KEY]: 'hitl-alice' }, style: { header: 'Authorization', template: 'Bearer {key}' } });
  let upstream: TestUpstream | undefined;
  const app = await startApp({
    databaseUrl: db.url,
    ...(options.limits ? { limits: options.limits } : {}),
    providers: async (url) => {
      upstream = await startUpstream({ redirectUris: [`${url}/api/connect/acme/callback`] });
      return [
        upstreamProvider(upstream),
        keyProvider(keyUpstream),
        // An API-key service whose operator's shared key serves everyone without a key of their own.
        keyProvider(keyUpstream, { id: 'notes', name: 'Notes', fallback_key: GOOD_UPSTREAM_KEY }),
      ];
    },
  });
  const up = upstream as unknown as TestUpstream;
  return {
    app,
    upstream: up,
    keyUpstream,
    async close() {
      await app.close();
      await up.close();
      await keyUpstream.close();
      await db.drop();
    },
  };
}

/**
 * A page that records what would show in the browser's console: errors, warnings (CSP
 * violations are reported there) and uncaught exceptions, from this app's pages only (the
 * upstream's login page is not ours to judge).
 */
export async function newPage(context: BrowserContext, appUrl: string): Promise<{ page: Page; problems: string[] }> {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.setDefaultNavigationTimeout(15_000);
  const problems: string[] = [];
  const ours = (url: string) => url.startsWith(appUrl);
  page.on('console', (msg: ConsoleMessage) => {
    if ((msg.type() !== 'error' && msg.type() !== 'warning') || !ours(page.url())) return;
    // A form answered 400/403/429 on purpose is reported as the document "failing to load": not a problem.
    // Its stylesheet, script or icon failing would be (their own URLs differ from the page's).
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text()) && msg.location().url === page.url()) return;
    problems.push(`${msg.type()} at ${page.url()}: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`uncaught at ${page.url()}: ${err.message}`));
  // CSP violations also fire an event in the page; record them even if the console wording changes.
  await page.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI));",
  });
  return { page, problems };
}

/**
 * Logs in at the test upstream's real login page as `login` (unless the browser is still logged
 * in there), and approves its consent page.
 */
export async function loginAtUpstream(page: Page, login: string): Promise<void> {
  await page.waitForSelector('button:has-text("Sign-in"), button:has-text("Continue")');
  if (await page.locator('input[name="login"]').count()) {
    await page.fill('input[name="login"]', login);
    await page.fill('input[name="password"]', 'any-password');
    await page.click('button:has-text("Sign-in")');
  }
  // Its consent page; "Continue" sends the browser back to our callback.
  await page.click('button:has-text("Continue")');
}
