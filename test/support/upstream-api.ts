import type { IncomingMessage, ServerResponse } from 'node:http';

/** One request the test upstream's REST API received. */
export interface ApiRequestRecord {
  method: string;
  /** Path and query exactly as sent (still percent-encoded), so tests can check how the proxy encoded them. */
  path: string;
  authorization: string | undefined;
  /** The parsed JSON body; the raw text if it was not JSON; undefined when empty. */
  body: unknown;
}

/** What the REST API needs from its authorization server. */
export interface ApiHandlerOptions {
  /** Resolves a bearer token to the account it was issued for; undefined when unknown, expired or revoked. */
  verifyAccessToken(token: string): Promise<string | undefined>;
  /** Every request is appended here, before authentication, so rejected calls are visible too. */
  requests: ApiRequestRecord[];
}

/** Upper bound for `/api/slow?ms=`, so a mistyped test cannot hang the run. */
export const MAX_SLOW_MS = 30_000;
/** Size of the JSON string `/api/large` returns, for response-size cap tests. */
export const LARGE_BODY_CHARS = 1024 * 1024;

type ApiHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** The upstream's REST API, mounted under `/api`; every route requires a valid bearer access token. */
export function createApiHandler(options: ApiHandlerOptions): ApiHandler {
  return async (req, res) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://upstream.invalid');
    const raw = await readText(req);
    const parsed = parseJson(raw);
    options.requests.push({ method, path: req.url ?? '/', authorization: req.headers.authorization, body: parsed.value });

    const accountId = await authenticate(req.headers.authorization, options.verifyAccessToken);
    if (accountId === undefined) {
      // RFC 6750 §3.1: a rejected token gets 401 and says why in WWW-Authenticate.
      sendJson(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
      return;
    }
    if (!parsed.ok) {
      sendJson(res, 400, { error: 'invalid_json' });
      return;
    }

    let segments: string[];
    try {
      segments = url.pathname.split('/').slice(2).map(decodeURIComponent);
    } catch {
      sendJson(res, 400, { error: 'invalid_path' });
      return;
    }
    route(method, segments, url.searchParams, parsed.value, accountId, res);
  };
}

function route(method: string, segments: string[], query: URLSearchParams, body: unknown, owner: string, res: ServerResponse): void {
  const [resource, param, ...rest] = segments;
  const at = (m: string, r: string, withParam: boolean): boolean =>
    method === m && resource === r && (param !== undefined) === withParam && rest.length === 0;

  if (at('GET', 'me', false)) return sendJson(res, 200, { id: owner, login: owner });
  // GitHub-shaped: a numeric id that never changes and the login people know the account by.
  if (at('GET', 'user', false)) return sendJson(res, 200, { id: numericIdOf(owner), login: owner, name: `The ${owner} account` });
  if (at('GET', 'items', true)) return sendJson(res, 200, { id: param, q: query.get('q'), owner });
  if (at('POST', 'echo', false)) return sendJson(res, 200, { owner, body });
  if (at('GET', 'status', true)) return sendStatus(Number(param), owner, res);
  if (at('GET', 'large', false)) return sendJson(res, 200, 'x'.repeat(LARGE_BODY_CHARS));
  if (at('GET', 'slow', false)) return sendSlow(Number(query.get('ms') ?? 0), owner, res);
  if (at('GET', 'trickle', false)) return sendTrickle(Number(query.get('ms') ?? 0), res);
  sendJson(res, 404, { error: 'not_found' });
}

/** A stable number per account, as GitHub's user ids are. */
function numericIdOf(owner: string): number {
  let n = 7;
  for (const c of owner) n = (n * 31 + c.charCodeAt(0)) % 1_000_000_007;
  return n;
}

function sendStatus(status: number, owner: string, res: ServerResponse): void {
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    sendJson(res, 400, { error: 'invalid_status' });
    return;
  }
  if (status === 204 || status === 304) {
    // These statuses cannot carry a body (RFC 9110 §15.3.5, §15.4.5).
    res.writeHead(status).end();
    return;
  }
  sendJson(res, status, { status, owner }, status === 429 ? { 'retry-after': '7' } : {});
}

function sendSlow(requestedMs: number, owner: string, res: ServerResponse): void {
  const ms = Math.min(Math.max(Number.isFinite(requestedMs) ? requestedMs : 0, 0), MAX_SLOW_MS);
  const timer = setTimeout(() => sendJson(res, 200, { waitedMs: ms, owner }), ms);
  // A client that gives up (a timeout test) or a closing server must not leave the timer behind.
  res.on('close', () => clearTimeout(timer));
}

/** Headers at once, then the body a space at a time every 100 ms for `ms`: slow to finish, never idle. */
function sendTrickle(requestedMs: number, res: ServerResponse): void {
  const ms = Math.min(Math.max(Number.isFinite(requestedMs) ? requestedMs : 0, 0), MAX_SLOW_MS);
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write('{"trickled":');
  const started = Date.now();
  const timer = setInterval(() => {
    if (Date.now() - started < ms) res.write(' ');
    else {
      clearInterval(timer);
      res.end('true}');
    }
  }, 100);
  res.on('close', () => clearInterval(timer));
}

async function authenticate(
  header: string | undefined,
  verify: ApiHandlerOptions['verifyAccessToken'],
): Promise<string | undefined> {
  const match = /^Bearer ([^\s]+)$/i.exec(header ?? '');
  return match?.[1] === undefined ? undefined : verify(match[1]);
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(raw: string): { ok: boolean; value: unknown } {
  if (raw === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false, value: raw };
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}
