import { Agent } from 'undici';
import { exchange, type ExchangeResult } from '../outbound/exchange.js';

/**
 * The IdP's own connection pool: metadata, JWKS, introspection and login token requests. The
 * IdP is the operator's choice (trusted like a providers-file URL), so no SSRF guard applies, but
 * its traffic must not queue behind tool calls or take their sockets.
 */
export const idpAgent = new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000, connections: 16 });

/** How long any single request to the IdP may take. */
export const IDP_TIMEOUT_MS = 5_000;
const MAX_BYTES = 256 * 1024;

/** The IdP did not answer usefully (down, timeout, 5xx): callers turn this into 503, never 401. */
export class IdpUnavailableError extends Error {
  override name = 'IdpUnavailableError';
}

/** A form POST to an IdP endpoint with HTTP Basic client authentication (RFC 6749 §2.3.1). */
export async function postForm(url: string, form: Record<string, string>, client: { id: string; secret: string }): Promise<{ status: number; json: unknown }> {
  const basic = Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64');
  let res: ExchangeResult;
  try {
    res = await exchange(
      idpAgent,
      {
        url: new URL(url),
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', authorization: `Basic ${basic}` },
        body: new URLSearchParams(form).toString(),
      },
      { timeoutMs: IDP_TIMEOUT_MS, maxBytes: MAX_BYTES },
    );
  } catch (err) {
    throw new IdpUnavailableError(`the identity provider could not be reached (${(err as Error).name})`);
  }
  if (res.status >= 500 || res.truncated) throw new IdpUnavailableError(`the identity provider answered HTTP ${res.status}`);
  return { status: res.status, json: parseJson(res.text) };
}

/** GET a JSON document from the IdP. */
export async function getJson(url: string): Promise<unknown> {
  let res: ExchangeResult;
  try {
    res = await exchange(idpAgent, { url: new URL(url), method: 'GET', headers: { accept: 'application/json' }, body: undefined }, { timeoutMs: IDP_TIMEOUT_MS, maxBytes: MAX_BYTES });
  } catch (err) {
    throw new IdpUnavailableError(`the identity provider could not be reached (${(err as Error).name})`);
  }
  if (res.status !== 200 || res.truncated) throw new IdpUnavailableError(`the identity provider answered HTTP ${res.status} for ${url}`);
  return parseJson(res.text);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
