import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real upstream that authenticates with per-account API keys, the way HITL services, LLM APIs
 * or Linear do: it reads the key from exactly one place (a header built from a template, or one
 * query parameter), knows which account each key belongs to, and refuses anything else with 401.
 * Like some real APIs, its 401 body echoes the key it was given, so tests can check that the
 * proxy never passes a key on.
 */

export interface KeyUpstreamOptions {
  /** Valid keys and the account each belongs to. */
  accounts: Record<string, string>;
  /** Where the key is read from; the same shape as a provider's `api_key`. */
  style: { header: string; template?: string } | { query: string };
}

/** One request as the upstream received it, recorded before authentication. */
export interface KeyRequestRecord {
  method: string;
  /** Path and query exactly as sent. */
  path: string;
  /** The key found where the style says, or undefined. */
  key: string | undefined;
  headers: IncomingHttpHeaders;
}

export interface KeyUpstream {
  /** `http://127.0.0.1:PORT/v1`, the provider's `api_base_url`. */
  baseUrl: string;
  requests: KeyRequestRecord[];
  /** Requests that carried `key`. */
  requestsWith(key: string): KeyRequestRecord[];
  /** Start accepting a key (e.g. an account created later). */
  addKey(key: string, account: string): void;
  /** Stop accepting a key, as when its owner revokes it upstream. */
  revokeKey(key: string): void;
  /** Answer 503 to everything (true) or behave normally (false). */
  setDown(down: boolean): void;
  close(): Promise<void>;
}

export async function startKeyUpstream(options: KeyUpstreamOptions): Promise<KeyUpstream> {
  const accounts = new Map(Object.entries(options.accounts));
  const requests: KeyRequestRecord[] = [];
  let down = false;
  const style = options.style;
  const [prefix = '', suffix = ''] = 'header' in style ? (style.template ?? '{key}').split('{key}') : [];

  function keyOf(url: URL, headers: IncomingHttpHeaders): string | undefined {
    if ('query' in style) return url.searchParams.get(style.query) ?? undefined;
    const value = headers[style.header.toLowerCase()];
    if (typeof value !== 'string' || !value.startsWith(prefix) || !value.endsWith(suffix)) return undefined;
    const key = value.slice(prefix.length, value.length - suffix.length);
    return key === '' ? undefined : key;
  }

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://upstream.invalid');
    const key = keyOf(url, req.headers);
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', key, headers: req.headers });

    if (down) return send(res, 503, { error: 'unavailable' });
    const account = key === undefined ? undefined : accounts.get(key);
    if (account === undefined) return send(res, 401, { error: 'invalid_api_key', message: `Invalid API key provided: ${key ?? '(none)'}` });

    const [version, resource, param, ...rest] = url.pathname.split('/').slice(1).map(decodeURIComponent);
    const at = (method: string, name: string, withParam: boolean): boolean =>
      version === 'v1' && req.method === method && resource === name && (param !== undefined) === withParam && rest.length === 0;
    if (at('GET', 'me', false)) return send(res, 200, { account });
    if (at('GET', 'items', true)) return send(res, 200, { id: param, q: url.searchParams.get('q'), account });
    if (at('POST', 'echo', false)) return send(res, 200, { account, body: raw ? (JSON.parse(raw) as unknown) : null });
    if (at('GET', 'admin', false)) return send(res, 403, { error: 'forbidden', message: `account ${account} lacks the admin permission` });
    if (at('GET', 'status', true)) return send(res, Number(param), { status: Number(param), account });
    send(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl: `${origin}/v1`,
    requests,
    requestsWith: (key) => requests.filter((r) => r.key === key),
    addKey: (key, account) => void accounts.set(key, account),
    revokeKey: (key) => void accounts.delete(key),
    setDown(value) {
      down = value;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * A provider definition for the key upstream (id `hitl`, `Authorization: Bearer {key}`, validated
 * with `GET /me`), with the tools its API offers, named `<id>_whoami`, `<id>_get_item`…
 */
export function keyProvider(upstream: KeyUpstream, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const id = typeof overrides.id === 'string' ? overrides.id : 'hitl';
  return {
    id,
    name: 'HITL',
    auth: 'api_key',
    api_key: { header: 'Authorization', template: 'Bearer {key}' },
    validate: { method: 'GET', path: '/me' },
    api_base_url: upstream.baseUrl,
    tools: [
      { name: `${id}_whoami`, description: 'The account the key belongs to', method: 'GET', path: '/me' },
      {
        name: `${id}_get_item`,
        description: 'One item',
        method: 'GET',
        path: '/items/{id}',
        params: { id: { type: 'string', in: 'path', required: true }, q: { type: 'string', in: 'query' } },
      },
      { name: `${id}_echo`, description: 'Echo a message', method: 'POST', path: '/echo', params: { message: { type: 'string', in: 'body', required: true } } },
      { name: `${id}_admin`, description: 'Needs a permission most keys lack', method: 'GET', path: '/admin' },
      {
        name: `${id}_status`,
        description: 'Answer with a status',
        method: 'GET',
        path: '/status/{code}',
        params: { code: { type: 'integer', in: 'path', required: true } },
      },
    ],
    ...overrides,
  };
}
