import { lookup } from 'node:dns/promises';
import https from 'node:https';
import { isIP } from 'node:net';
import type { AddressPolicy } from './address-policy.js';

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
 * 3. no redirects are followed, the body stops at `maxBytes`, and the whole exchange at `timeoutMs`.
 */
export async function safeGet(url: URL, options: SafeFetchOptions): Promise<SafeResponse> {
  if (url.protocol !== 'https:') throw new SafeFetchError('only https URLs are fetched');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await resolve(host);
  if (addresses.length === 0 || !addresses.every((a) => options.policy(a.address))) {
    throw new SafeFetchError(`${url.hostname} resolves to an address this server does not fetch from`);
  }
  const pinned = addresses[0] as { address: string; family: number };

  return new Promise<SafeResponse>((resolvePromise, reject) => {
    const request = https.request(
      url,
      {
        method: 'GET',
        headers: { accept: 'application/json', 'user-agent': 'mcp-oauth-proxy (client metadata fetch)' },
        ca: options.ca,
        // Node's default agent would pool sockets across requests; a pinned one-off is simpler to reason about.
        agent: false,
        servername: isIP(host) ? undefined : host,
        lookup: (_hostname, opts, callback) => {
          if ((opts as { all?: boolean }).all) callback(null, [pinned] as never);
          else callback(null, pinned.address, pinned.family);
        },
        timeout: options.timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const declared = Number(response.headers['content-length']);
        if (Number.isFinite(declared) && declared > options.maxBytes) {
          response.destroy();
          reject(new SafeFetchError(`the document is larger than ${options.maxBytes} bytes`));
          return;
        }
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > options.maxBytes) {
            response.destroy();
            reject(new SafeFetchError(`the document is larger than ${options.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => resolvePromise({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }));
        response.on('error', (err) => reject(new SafeFetchError(`the download failed (${err.message})`)));
      },
    );
    const deadline = setTimeout(() => request.destroy(new SafeFetchError(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    request.on('close', () => clearTimeout(deadline));
    request.on('timeout', () => request.destroy(new SafeFetchError(`no answer within ${options.timeoutMs} ms`)));
    request.on('error', (err) => reject(err instanceof SafeFetchError ? err : new SafeFetchError(`could not be fetched (${(err as NodeJS.ErrnoException).code ?? err.message})`)));
    request.end();
  });
}

async function resolve(host: string): Promise<Array<{ address: string; family: number }>> {
  try {
    return await lookup(host, { all: true, verbatim: true });
  } catch {
    throw new SafeFetchError(`${host} could not be resolved`);
  }
}
