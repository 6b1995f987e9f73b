import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { OAuthClientInformationMixed, OAuthClientMetadata, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { authorizeUntilRedirect, CookieJar } from '../support/browser.js';

/** The consent page's forms, by their `decision` value. */
export type Decision = 'allow' | 'allow_idp' | 'allow_session' | 'allow_key' | 'deny';

/** How the user answers our consent page. */
export interface SignInChoice {
  decision?: Decision;
  /** For `allow`: the provider button pressed (default: the first). */
  provider?: string;
  /** For `allow_key`. */
  apiKey?: string;
  /** Replace or drop form fields before posting (CSRF tests). */
  tamper?: (form: URLSearchParams) => void;
}

/** One step of the browser's way; `final` is where it left our server and the upstream. */
export interface SignInResult {
  /** The URL the browser was finally sent to (the client's redirect URI), or undefined if it stopped on a page. */
  redirect: URL | undefined;
  /** The last page our server showed, when it stopped on one. */
  page?: { status: number; body: string; headers: Headers };
}

/**
 * A user's browser at our sign-in pages: one cookie jar for our server (the upstream has its own,
 * inside authorizeUntilRedirect). Follows GET /oauth/authorize → consent form → upstream login →
 * our callback → the client's redirect URI, without ever requesting the redirect URI itself.
 */
export class TestBrowser {
  readonly jar = new CookieJar();

  constructor(
    readonly appUrl: string,
    readonly login: string,
  ) {}

  async get(url: URL): Promise<Response> {
    const res = await fetch(url, { redirect: 'manual', headers: this.jar.headersFor(url) });
    this.jar.store(url, res.headers.getSetCookie());
    return res;
  }

  async post(url: URL, form: URLSearchParams): Promise<Response> {
    const res = await fetch(url, {
      method: 'POST',
      redirect: 'manual',
      body: form,
      headers: { ...this.jar.headersFor(url), 'content-type': 'application/x-www-form-urlencoded' },
    });
    this.jar.store(url, res.headers.getSetCookie());
    return res;
  }

  /** Runs the whole sign-in from an authorization URL the client built. */
  async signIn(authorizationUrl: URL, choice: SignInChoice = {}): Promise<SignInResult> {
    const appOrigin = new URL(this.appUrl).origin;
    let res = await this.get(authorizationUrl);
    if (res.status === 200) {
      const html = await res.text();
      res = await this.post(new URL('/oauth/authorize/decision', this.appUrl), consentForm(html, choice));
    }
    for (let step = 0; step < 6; step += 1) {
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !location) {
        return { redirect: undefined, page: { status: res.status, body: await res.text(), headers: res.headers } };
      }
      await res.body?.cancel();
      const next = new URL(location, this.appUrl);
      if (next.origin !== appOrigin) {
        // Either the upstream (log in there, come back to our callback) or the client's redirect URI.
        if (!(await isUpstream(next))) return { redirect: next };
        res = await this.get(await authorizeUntilRedirect(next.href, this.login));
        continue;
      }
      if (next.pathname === '/oauth/authorize' || next.pathname.startsWith('/api/connect/')) {
        res = await this.get(next);
        continue;
      }
      return { redirect: next };
    }
    throw new Error('sign-in did not finish within 6 redirects');
  }
}

/** Upstream URLs in these tests are oidc-provider's /auth endpoint; client redirect URIs never are. */
async function isUpstream(url: URL): Promise<boolean> {
  return url.pathname === '/auth';
}

/** Fills the consent form for `choice` from the page's hidden fields. */
export function consentForm(html: string, choice: SignInChoice): URLSearchParams {
  const decision = choice.decision ?? 'allow';
  const forms = html.match(/<form\b[\s\S]*?<\/form>/g) ?? [];
  const form = forms.find((f) => f.includes(`name="decision" value="${decision}"`));
  if (!form) throw new Error(`no ${decision} form on the consent page: ${html.slice(0, 800)}`);
  const fields = new URLSearchParams();
  for (const [, name, value] of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields.set(name as string, value as string);
  if (decision === 'allow') {
    const providers = [...form.matchAll(/name="provider" value="([^"]+)"/g)].map((m) => m[1] as string);
    fields.set('provider', choice.provider ?? (providers[0] as string));
  }
  if (decision === 'allow_key') fields.set('api_key', choice.apiKey ?? '');
  if (choice.provider && decision !== 'allow') fields.set('provider', choice.provider);
  choice.tamper?.(fields);
  return fields;
}

/**
 * The SDK's OAuthClientProvider, kept in memory: it registers (DCR), or presents a pre-registered
 * client or a metadata-document URL, and "redirects" by letting a TestBrowser sign in, checking
 * `state` and `iss` on the way back as a careful client would.
 */
export class TestOAuthProvider implements OAuthClientProvider {
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = '';
  #state = '';
  /** The code the last sign-in brought back. */
  code: string | undefined;
  /** Every authorization URL the SDK built. */
  readonly authorizationUrls: URL[] = [];

  constructor(
    readonly browser: TestBrowser,
    readonly options: { redirectUrl?: string; client?: OAuthClientInformationMixed; clientMetadataUrl?: string; choice?: SignInChoice; authMethod?: string } = {},
  ) {
    this.#client = options.client;
    if (options.clientMetadataUrl) this.clientMetadataUrl = options.clientMetadataUrl;
  }

  clientMetadataUrl?: string;

  get redirectUrl(): string {
    return this.options.redirectUrl ?? 'http://127.0.0.1:9/callback';
  }

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: `Test client for ${this.browser.login}`,
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: this.options.authMethod ?? 'none',
    };
  }

  state(): string {
    this.#state = crypto.randomUUID();
    return this.#state;
  }

  clientInformation(): OAuthClientInformationMixed | undefined {
    return this.#client;
  }

  saveClientInformation(info: OAuthClientInformationMixed): void {
    this.#client = info;
  }

  tokens(): OAuthTokens | undefined {
    return this.#tokens;
  }

  saveTokens(tokens: OAuthTokens): void {
    this.#tokens = tokens;
  }

  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }

  codeVerifier(): string {
    return this.#verifier;
  }

  async redirectToAuthorization(url: URL): Promise<void> {
    this.authorizationUrls.push(url);
    const { redirect, page } = await this.browser.signIn(url, this.options.choice);
    assert.ok(redirect, `sign-in stopped on a page: ${page?.status} ${page?.body.slice(0, 300)}`);
    assert.equal(redirect.origin + redirect.pathname, new URL(this.redirectUrl).origin + new URL(this.redirectUrl).pathname);
    assert.equal(redirect.searchParams.get('state'), this.#state, 'state is echoed');
    assert.equal(redirect.searchParams.get('iss'), this.browser.appUrl, 'iss names our issuer (RFC 9207)');
    const code = redirect.searchParams.get('code');
    assert.ok(code, `no code: ${redirect.href}`);
    this.code = code;
  }
}

/**
 * What an MCP client does with the SDK's own OAuth support: connect, get 401, discover, register,
 * authorize in the browser, exchange the code (finishAuth), then connect again with the token.
 */
export async function connectWithOAuth(appUrl: string, provider: TestOAuthProvider): Promise<Client> {
  const mcpUrl = new URL(`${appUrl}/mcp`);
  const first = new Client({ name: 'oauth-test-client', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
  await assert.rejects(first.connect(transport), /Unauthorized/);
  assert.ok(provider.code, 'the browser came back with a code');
  await transport.finishAuth(provider.code);
  await transport.close().catch(() => undefined);

  const client = new Client({ name: 'oauth-test-client', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider }));
  return client;
}

/** Form-encoded POST, as OAuth endpoints take. */
export function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });
}

/** RFC 7636 S256 pair. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export const REDIRECT_URI = 'http://127.0.0.1:9/callback';

/** Registers a public client through POST /oauth/register. */
export async function registerPublicClient(appUrl: string, metadata: Record<string, unknown> = {}): Promise<string> {
  const res = await fetch(`${appUrl}/oauth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Manual client', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', ...metadata }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { client_id: string }).client_id;
}

/** An authorization URL as a client would build it; `overrides` set (or, with undefined, delete) parameters. */
export function authorizationUrl(appUrl: string, clientId: string, challenge: string, overrides: Record<string, string | undefined> = {}): URL {
  const url = new URL(`${appUrl}/oauth/authorize`);
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT_URI,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'state-123',
    resource: `${appUrl}/mcp`,
    scope: 'tools:read tools:write',
    ...overrides,
  };
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return url;
}

/** Signs `login` in for `clientId` and returns the code with its verifier. */
export async function obtainCode(appUrl: string, clientId: string, login: string, overrides: Record<string, string | undefined> = {}): Promise<{ code: string; verifier: string }> {
  const { verifier, challenge } = pkcePair();
  const { redirect, page } = await new TestBrowser(appUrl, login).signIn(authorizationUrl(appUrl, clientId, challenge, overrides));
  const code = redirect?.searchParams.get('code');
  assert.ok(code, `no code: ${redirect?.href ?? page?.body.slice(0, 300)}`);
  return { code, verifier };
}

/** The token endpoint's answer, parsed. */
export async function tokenRequest(appUrl: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, string>; headers: Headers }> {
  const res = await postForm(`${appUrl}/oauth/token`, form, headers);
  return { status: res.status, body: (await res.json()) as Record<string, string>, headers: res.headers };
}

/** Redeems a code for tokens (authorization_code grant, public client). */
export async function redeem(appUrl: string, clientId: string, code: { code: string; verifier: string }): Promise<Record<string, string>> {
  const { status, body } = await tokenRequest(appUrl, {
    grant_type: 'authorization_code',
    client_id: clientId,
    code: code.code,
    code_verifier: code.verifier,
    redirect_uri: REDIRECT_URI,
    resource: `${appUrl}/mcp`,
  });
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

/** Status of an MCP tools/list with this bearer token. */
export async function mcpStatus(appUrl: string, token: string): Promise<number> {
  const res = await fetch(`${appUrl}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  });
  await res.body?.cancel();
  return res.status;
}

/** A self-signed certificate for 127.0.0.1, made with the system's openssl. */
export function selfSignedCertificate(): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'cimd-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    return { key: readFileSync(path.join(dir, 'key.pem'), 'utf8'), cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

