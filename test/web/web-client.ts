import { CookieJar } from '../support/browser.js';

/** A page as a browser without JavaScript gets it. */
export interface WebResponse {
  status: number;
  html: string;
  headers: Headers;
  /** Where a redirect points (absolute), if it is one. */
  location: string | undefined;
}

/**
 * A browser without JavaScript, for checks below the page (headers, cookies, statuses): one
 * cookie jar, no redirects followed, every request from `address` (sent as X-Forwarded-For,
 * which the app trusts from loopback) so limits per client address can be tested in isolation.
 */
export class WebClient {
  readonly jar = new CookieJar();

  constructor(
    readonly appUrl: string,
    readonly address = '203.0.113.10',
  ) {}

  get(path: string, headers: Record<string, string> = {}): Promise<WebResponse> {
    return this.#send(new URL(path, this.appUrl), { method: 'GET', headers });
  }

  /** Posts a form; `csrf: true` adds the token from `from` (the page the form is on). */
  post(path: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}): Promise<WebResponse> {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
    return this.#send(new URL(path, this.appUrl), { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  }

  /** The value of one of our cookies, as the jar holds it. */
  cookie(name: string): string | undefined {
    const header = this.jar.headersFor(new URL('/', this.appUrl)).cookie ?? '';
    return header
      .split('; ')
      .map((pair) => pair.split('='))
      .find(([n]) => n === name)?.[1];
  }

  async #send(url: URL, init: { method: string; body?: URLSearchParams; headers: Record<string, string> }): Promise<WebResponse> {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { 'x-forwarded-for': this.address, ...this.jar.headersFor(url), ...init.headers } });
    this.jar.store(url, res.headers.getSetCookie());
    const location = res.headers.get('location');
    return { status: res.status, html: await res.text(), headers: res.headers, location: location ? new URL(location, url).href : undefined };
  }
}

/** The CSRF token of the first form on a page (they all carry the same one). */
export function csrfOf(html: string): string {
  const token = /name="csrf_token" value="([^"]+)"/.exec(html)?.[1];
  if (!token) throw new Error(`no CSRF token on the page: ${html.slice(0, 300)}`);
  return token;
}

/** The key a registered page or a key-created page shows once. */
export function shownKey(html: string): string {
  const key = /<code id="new-key"[^>]*>(sk_[^<]+)<\/code>/.exec(html)?.[1];
  if (!key) throw new Error(`no key on the page: ${html.slice(0, 300)}`);
  return key;
}

/** Registers through the page; returns the client (signed in) and the key shown. */
export async function registerOnPage(appUrl: string, name = 'Web user', address?: string): Promise<{ client: WebClient; apiKey: string; page: WebResponse }> {
  const client = new WebClient(appUrl, address);
  const landing = await client.get('/');
  const page = await client.post('/register', { csrf_token: csrfOf(landing.html), name });
  if (page.status !== 201) throw new Error(`register answered ${page.status}: ${page.html.slice(0, 300)}`);
  return { client, apiKey: shownKey(page.html), page };
}
