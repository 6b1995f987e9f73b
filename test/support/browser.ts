/**
 * Drives oidc-provider's development login and consent pages with fetch, the way a user's browser would.
 *
 * The chain is: /auth → /interaction/:uid (login form) → POST → /auth/:uid → /interaction/:uid
 * (consent form) → POST → /auth/:uid → redirect_uri?code&state. Field names and form actions come
 * from oidc-provider's lib/views/login.js and lib/views/interaction.js.
 */

/** A response the way a test sees it after the browser is sent back to the client. */
export interface BrowserResponse {
  status: number;
  url: string;
  body: string;
  headers: Headers;
  /** The upstream authorization URL the browser was sent to (after our confirm page, if there was one). */
  upstreamUrl?: string;
}

/** Enough redirects and form posts for login + consent, with room to spare; more means a loop. */
const MAX_STEPS = 12;

/**
 * Follows an upstream authorization URL the way a browser would: submits the oidc-provider dev login form as `login`,
 * approves consent, and finally GETs the redirect back to the client's redirect_uri (our callback) — returning that last response.
 */
export async function authorizeInBrowser(authorizationUrl: string, login: string, apiKey?: string): Promise<BrowserResponse> {
  let upstreamUrl = authorizationUrl;
  let ours = new CookieJar();
  if (isConfirmPage(authorizationUrl)) {
    if (apiKey === undefined) throw new Error('this authorization_url leads to the confirm page: pass the API key that started it');
    ({ upstreamUrl, cookies: ours } = await confirmInBrowser(authorizationUrl, apiKey));
  }
  const callback = await authorizeUntilRedirect(upstreamUrl, login);
  // The callback is another site: the upstream's cookies must not travel with it, only ours
  // (the browser-binding cookie that the confirm page set).
  const res = await fetch(callback, { redirect: 'manual', headers: ours.headersFor(callback) });
  return { status: res.status, url: callback.href, body: await res.text(), headers: res.headers, upstreamUrl };
}

/** Whether an `authorization_url` of GET /api/connect/:provider/start leads to our confirm page (it always does). */
export function isConfirmPage(url: string): boolean {
  return new URL(url).pathname === '/connect/confirm';
}

/**
 * Confirms an API-started connect flow on our page the way its owner would in a browser: loads
 * the page (which sets the browser-binding cookie), posts the key with the page's CSRF token,
 * and returns where the server sends the browser (the upstream login) plus this browser's cookies.
 */
export async function confirmInBrowser(confirmUrl: string, apiKey: string, cookies = new CookieJar()): Promise<{ upstreamUrl: string; cookies: CookieJar }> {
  const url = new URL(confirmUrl);
  const page = await fetch(url, { headers: cookies.headersFor(url) });
  cookies.store(url, page.headers.getSetCookie());
  const html = await page.text();
  if (page.status !== 200) throw new Error(`confirm page answered ${page.status}: ${html.slice(0, 300)}`);
  const form = new URLSearchParams();
  for (const tag of html.match(/<input\b[^>]*>/g) ?? []) {
    const attrs = attributesOf(tag);
    if (attrs.type === 'hidden' && attrs.name !== undefined) form.set(attrs.name, attrs.value ?? '');
  }
  if (!form.has('use_session')) form.set('api_key', apiKey);
  const post = new URL('/connect/confirm', url);
  const res = await fetch(post, { method: 'POST', body: form, redirect: 'manual', headers: cookies.headersFor(post) });
  cookies.store(post, res.headers.getSetCookie());
  const location = res.headers.get('location');
  if (res.status !== 303 || !location) throw new Error(`confirming answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  return { upstreamUrl: location, cookies };
}

/** Same, but stops before calling the redirect_uri and returns the URL the upstream redirected to (with code & state). */
export async function authorizeUntilRedirect(authorizationUrl: string, login: string): Promise<URL> {
  const upstreamOrigin = new URL(authorizationUrl).origin;
  const jar = new CookieJar();
  let request: { url: URL; form?: URLSearchParams } = { url: new URL(authorizationUrl) };

  for (let step = 0; step < MAX_STEPS; step += 1) {
    const res = await fetch(request.url, {
      method: request.form ? 'POST' : 'GET',
      body: request.form,
      redirect: 'manual',
      headers: jar.headersFor(request.url),
    });
    jar.store(request.url, res.headers.getSetCookie());

    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      const next = new URL(location, request.url);
      // Leaving the upstream means we have reached the client's redirect_uri (success or error alike).
      if (next.origin !== upstreamOrigin) return next;
      request = { url: next };
      continue;
    }

    const html = await res.text();
    if (res.status !== 200) throw new Error(`upstream answered ${res.status} at ${request.url.pathname}: ${html.slice(0, 500)}`);
    request = { url: new URL(formAction(html), request.url), form: fillForm(html, login) };
  }
  throw new Error(`authorization did not reach the redirect_uri within ${MAX_STEPS} steps`);
}

/** Answers whichever dev form the page holds: the login form with `login` (any password works), or consent with Continue. */
function fillForm(html: string, login: string): URLSearchParams {
  const form = new URLSearchParams();
  for (const tag of html.match(/<input\b[^>]*>/g) ?? []) {
    const attrs = attributesOf(tag);
    if (attrs.type === 'hidden' && attrs.name !== undefined) form.set(attrs.name, attrs.value ?? '');
  }
  const prompt = form.get('prompt');
  if (prompt === 'login') {
    form.set('login', login);
    form.set('password', 'any-password');
  } else if (prompt !== 'consent') {
    throw new Error(`unexpected upstream interaction page (prompt=${String(prompt)}): ${html.slice(0, 500)}`);
  }
  return form;
}

function formAction(html: string): string {
  const tag = /<form\b[^>]*>/.exec(html)?.[0];
  const action = tag === undefined ? undefined : attributesOf(tag).action;
  if (action === undefined) throw new Error(`no form on upstream page: ${html.slice(0, 500)}`);
  return action;
}

function attributesOf(tag: string): Record<string, string | undefined> {
  const attrs: Record<string, string | undefined> = {};
  for (const [, name, value] of tag.matchAll(/([\w-]+)="([^"]*)"/g)) {
    if (name !== undefined) attrs[name] = decodeHtml(value ?? '');
  }
  return attrs;
}

function decodeHtml(text: string): string {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

/**
 * Just enough of a browser cookie jar for one host: honours Path (oidc-provider scopes its
 * interaction cookies to /interaction/:uid and /auth/:uid) and deletion by Expires/Max-Age.
 */
export class CookieJar {
  readonly #cookies = new Map<string, { name: string; value: string; path: string }>();

  store(requestUrl: URL, setCookieHeaders: string[]): void {
    for (const header of setCookieHeaders) {
      const [pair = '', ...attributes] = header.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = defaultPath(requestUrl);
      let expired = false;
      for (const attribute of attributes) {
        const [key = '', attrValue = ''] = attribute.split('=', 2);
        const lower = key.toLowerCase();
        if (lower === 'path' && attrValue.startsWith('/')) path = attrValue;
        if (lower === 'max-age' && Number(attrValue) <= 0) expired = true;
        if (lower === 'expires' && Date.parse(attrValue) <= Date.now()) expired = true;
      }
      const key = `${name};${path}`;
      if (expired) this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  headersFor(url: URL): Record<string, string> {
    const cookie = [...this.#cookies.values()]
      .filter((c) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    return cookie === '' ? {} : { cookie };
  }
}

/** RFC 6265 §5.1.4: without a Path attribute a cookie belongs to the request path's directory. */
function defaultPath(url: URL): string {
  const lastSlash = url.pathname.lastIndexOf('/');
  return lastSlash <= 0 ? '/' : url.pathname.slice(0, lastSlash);
}
