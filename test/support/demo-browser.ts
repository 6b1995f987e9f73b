import { confirmInBrowser, CookieJar, isConfirmPage } from './browser.js';

/** Where a demo login ended: the callback page the browser landed on. */
export interface DemoLoginResult {
  status: number;
  body: string;
  /** The /demo/authorize URL the confirm page sent the browser to. */
  upstreamUrl: string;
}

/**
 * Connects the built-in demo upstream the way a person does in a browser: confirms the API's
 * connect link with the key on our confirm page, fills the demo's login form (`login`, any
 * `password`), and follows the redirect back to our callback. The demo is served by the same
 * origin, so one cookie jar is the browser's, as it would be.
 */
export async function demoLoginInBrowser(authorizationUrl: string, apiKey: string, login: string, decision = 'allow'): Promise<DemoLoginResult> {
  if (!isConfirmPage(authorizationUrl)) throw new Error(`expected our confirm page, got ${authorizationUrl}`);
  const jar = new CookieJar();
  const { upstreamUrl } = await confirmInBrowser(authorizationUrl, apiKey, jar);
  const pageUrl = new URL(upstreamUrl);
  if (pageUrl.pathname !== '/demo/authorize') throw new Error(`the confirm page sent the browser to ${upstreamUrl}, not the demo login`);
  const page = await fetch(pageUrl, { headers: jar.headersFor(pageUrl) });
  const html = await page.text();
  if (page.status !== 200) throw new Error(`demo login page answered ${page.status}: ${html.slice(0, 300)}`);
  const form = hiddenFields(html);
  form.set('login', login);
  form.set('password', 'anything');
  form.set('decision', decision);
  const post = new URL('/demo/authorize', pageUrl);
  const answer = await fetch(post, { method: 'POST', body: form, redirect: 'manual', headers: jar.headersFor(post) });
  const location = answer.headers.get('location');
  if (answer.status !== 303 || !location) throw new Error(`demo login answered ${answer.status}: ${(await answer.text()).slice(0, 300)}`);
  const callback = new URL(location, post);
  const done = await fetch(callback, { redirect: 'manual', headers: jar.headersFor(callback) });
  return { status: done.status, body: await done.text(), upstreamUrl };
}

/** The login form's hidden inputs (the authorization request it carries through). */
export function hiddenFields(html: string): URLSearchParams {
  const form = new URLSearchParams();
  for (const tag of html.match(/<input\b[^>]*>/g) ?? []) {
    if (!/type="hidden"/.test(tag)) continue;
    const name = /name="([^"]*)"/.exec(tag)?.[1];
    const value = /value="([^"]*)"/.exec(tag)?.[1] ?? '';
    if (name) form.set(name, decodeEntities(value));
  }
  return form;
}

/** escapeHtml (web/pages/layout.ts) writes numeric entities. */
function decodeEntities(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}
