import type { LookupFunction } from 'node:net';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Client } from 'undici';
import type { AddressPolicy } from './address-policy.js';
import { exchange, upstreamTimedOut } from './exchange.js';

/** Why an outbound fetch was refused or failed; the message is safe to show. */
export class SafeFetchError extends Error {}

export interface SafeFetchOptions {
  policy: AddressPolicy;
  /** Extra CA certificates to trust (tests use a self-signed one); default: Node's bundled roots. */
  ca?: string | Buffer | Array<string | Buffer> | undefined;
  maxBytes: number;
  timeoutMs: number;
}

export interface SafeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * GET over HTTPS that cannot be steered into the private network:
 *
 * 1. the host name is resolved here, and every address it resolves to must pass the policy
 *    (an attacker's DNS returning one public and one private address gets nothing);
 * 2. the connection is pinned to the checked address through `lookup`, so a second DNS answer
 *    (rebinding between check and connect) is never consulted; TLS still verifies the name;
 * 3. no redirects are followed (exchange() never does), the body stops at `maxBytes`, and the
 *    whole exchange, connecting included, at `timeoutMs`.
 *
 * Each fetch gets its own one-connection client, closed afterwards: a pooled socket would outlive
 * the address check it was made under. These fetches are rare, so the set-up cost does not matter.
 */
export async function safeGet(url: URL, options: SafeFetchOptions): Promise<SafeResponse> {
  if (url.protocol !== 'https:') throw new SafeFetchError('only https URLs are fetched');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host);
  if (addresses.length === 0 || !addresses.every((a) => options.policy(a.address))) {
    throw new SafeFetchError(`${url.hostname} resolves to an address this server does not fetch from`);
  }
  const pinned = addresses[0] as { address: string; family: number };
  const pinnedLookup: LookupFunction = (_hostname, opts, callback) => {
    if (opts.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const client = new Client(url.origin, {
    connect: { lookup: pinnedLookup, ca: options.ca, rejectUnauthorized: true },
    pipelining: 0,
  });
  try {
    const response = await exchange(
      client,
      { url, method: 'GET', headers: { accept: 'application/json', 'user-agent': 'mcp-oauth-proxy (client metadata fetch)' }, body: undefined },
      { timeoutMs: options.timeoutMs, maxBytes: options.maxBytes },
    );
    if (response.truncated) throw new SafeFetchError(`the document is larger than ${options.maxBytes} bytes`);
    return { status: response.status, headers: response.headers, body: Buffer.from(response.text, 'utf8') };
  } catch (err) {
    if (err instanceof SafeFetchError) throw err;
    if (upstreamTimedOut(err)) throw new SafeFetchError(`no answer within ${options.timeoutMs} ms`);
    throw new SafeFetchError(`could not be fetched (${connectionFailure(err)})`);
  } finally {
    // Also ends a connection still being made when the deadline passed.
    client.destroy().catch(() => undefined);
  }
}

/** The error code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, …), not a message that may carry more. */
function connectionFailure(err: unknown): string {
  const e = err as { code?: unknown; cause?: { code?: unknown }; message?: string };
  const code = e.cause?.code ?? e.code;
  return typeof code === 'string' ? code : (e.message ?? 'unknown error');
}

async function resolve(host: string): Promise<Array<{ address: string; family: number }>> {
  try {
    return await lookup(host, { all: true, verbatim: true });
  } catch {
    throw new SafeFetchError(`${host} could not be resolved`);
  }
}
