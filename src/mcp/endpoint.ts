import type { IncomingMessage, ServerResponse } from 'node:http';
import { isJsonContentType } from '@modelcontextprotocol/sdk/shared/mediaType.js';
import { ForbiddenError, JsonRpcError, PayloadTooLargeError } from '../errors.js';
import type { Authenticated, Credentials } from '../auth/authenticator.js';
import { batchTooLargeError, type BatchCharge } from '../auth/batch-charge.js';
import { createOriginCheck, ORIGIN_CHECK_MESSAGES } from '../http/middleware/dns-rebinding.js';
import { rateLimitError, rateLimitHeaderList, rateLimitHeaders } from '../http/middleware/rate-limit.js';
import type { RateDecision } from '../limits/key-rate-limiter.js';
import type { Logger } from '../log.js';
import { jsonError, jsonRpcError } from '../render-error.js';
import { preserveIds } from './exact-ids.js';
import type { FastDispatcher } from './fast-dispatch.js';
import type { McpHandler } from './mcp-server.js';
import { rewriteResponse } from './rewrite-response.js';
import { canUseTools } from './tool-access.js';

/** How the renderer's log lines name this endpoint. */
const WHERE = { surface: 'mcp', method: 'POST', path: '/mcp' } as const;

/** A JSON-RPC message larger than this is refused with 413 before it is parsed. */
export const MAX_MCP_BODY_BYTES = 1024 * 1024;

export interface McpEndpointDeps {
  publicUrl: string;
  /** The same authenticator the express routes use (keys with their rate limits, OAuth access tokens). */
  authenticate(credentials: Credentials): Promise<Authenticated>;
  /** Charges each further message of a JSON-RPC batch to the key's rate limit. */
  chargeBatch: BatchCharge;
  /** The client address, trusting the same proxies as the express app. */
  clientAddress(req: IncomingMessage): string | undefined;
  fast: FastDispatcher;
  sdk: McpHandler;
  /** Headers every response carries (the app's helmet headers), so this path is no less hardened. */
  securityHeaders: Readonly<Record<string, string>>;
  log: Logger;
  /** Told about every finished request (for /metrics): status and seconds. */
  observe?: ((status: number, seconds: number) => void) | undefined;
}

/** Whether a request is for this endpoint: `POST /mcp`, with or without a query string. */
export function isMcpPost(req: IncomingMessage): boolean {
  const url = req.url ?? '';
  return req.method === 'POST' && (url === '/mcp' || url.startsWith('/mcp?'));
}

/**
 * `POST /mcp`, served ahead of the express stack: routing and generic body parsing were a
 * quarter of the CPU of a tool call. The checks are the same as everywhere else — Host/Origin
 * first (a rebinding page learns nothing), then the key and its rate limit, then the scope —
 * and errors have the contract's shape.
 */
export function createMcpEndpoint(deps: McpEndpointDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const originCheck = createOriginCheck(deps.publicUrl);

  // The success path hands writeHead() a flat [name, value, …] list: building a fresh header
  // object per response ({ ...securityHeaders, name: value }) made Node 20's V8 promote each
  // response's objects to the old generation (measured on tools/list: ~550 KB per scavenge);
  // the list form costs nothing of the kind.
  const securityHeaderList: readonly string[] = Object.entries(deps.securityHeaders).flat();
  const successHeaders = (rate: RateDecision | undefined, contentLength: number): string[] => {
    const list = [...securityHeaderList, 'content-type', 'application/json', 'content-length', String(contentLength)];
    if (rate) list.push(...rateLimitHeaderList(rate));
    return list;
  };
  const setHeaders = (res: ServerResponse, rate: RateDecision | undefined): void => {
    const list = rate ? [...securityHeaderList, ...rateLimitHeaderList(rate)] : securityHeaderList;
    for (let i = 0; i < list.length; i += 2) res.setHeader(list[i] as string, list[i + 1] as string);
  };

  // Errors only: the success paths above never come here.
  const fail = (res: ServerResponse, err: unknown, rate: RateDecision | undefined): void => {
    const { status, headers, body } = jsonError(err, deps.log, WHERE);
    res.writeHead(status, { ...deps.securityHeaders, ...(rate && rateLimitHeaders(rate)), ...headers, 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  /** A JSON-RPC error that belongs to no request (`id: null`), as the SDK words its own. */
  const rpcFail = (res: ServerResponse, err: JsonRpcError): void => {
    const { status, headers, body } = jsonRpcError(err, deps.log, WHERE);
    res.writeHead(status, { ...headers, 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  /** `seen.rate` is filled in as soon as the key's limit was taken, so refusals carry the headers too. */
  const serve = async (req: IncomingMessage, res: ServerResponse, ip: string | undefined, seen: { rate: RateDecision | undefined }): Promise<void> => {
    const verdict = originCheck(req.headers.host, req.headers.origin);
    if (verdict !== 'ok') throw new ForbiddenError(ORIGIN_CHECK_MESSAGES[verdict], verdict);
    const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
    const authenticated = await deps.authenticate({ headers: req.headers, ip, keyInQuery: query.has('api_key') || query.has('key') });
    const { caller, apiKey } = authenticated;
    let rate = authenticated.rate;
    seen.rate = rate;
    if (rate && !rate.allowed) throw rateLimitError(rate);
    if (!canUseTools(caller.scopes)) {
      throw new ForbiddenError('This API key lacks the "tools:read" or "tools:write" scope.', 'insufficient_scope');
    }
    const accept = req.headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream') || !isJsonContentType(req.headers['content-type'] ?? null)) {
      // The SDK answers these protocol errors (406/415) in its own words.
      setHeaders(res, rate);
      await deps.sdk.handle(req, res, caller, undefined);
      return;
    }
    const text = await readBody(req);
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      setHeaders(res, rate);
      rpcFail(res, new JsonRpcError(400, -32700, 'Parse error: Invalid JSON'));
      return;
    }
    if (Array.isArray(message) && message.length === 0) {
      // JSON-RPC 2.0 §6: an empty batch is answered with one Invalid Request error (the SDK sends 202, no body).
      setHeaders(res, rate);
      rpcFail(res, new JsonRpcError(400, -32600, 'Invalid Request: a batch must contain at least one message'));
      return;
    }
    const exact = preserveIds(text, message);
    if (exact) message = exact.message;
    if (apiKey && Array.isArray(message) && message.length > 1) {
      // Each message of a batch counts against the key's limit; one that does not fit is refused whole.
      rate = deps.chargeBatch(apiKey, message.length);
      seen.rate = rate;
      if (!rate.allowed) throw batchTooLargeError(rate, message.length);
    }
    const protocolVersion = req.headers['mcp-protocol-version'];
    const fast = deps.fast.dispatch(message, caller, typeof protocolVersion === 'string' ? protocolVersion : undefined);
    if (fast) {
      const body = exact ? exact.restore(await fast) : await fast;
      // With its length known the response goes out in one write; without it, writeHead() commits
      // to chunked encoding and the body leaves as several buffers through writev.
      res.writeHead(200, successHeaders(rate, Buffer.byteLength(body)));
      res.end(body);
      return;
    }
    setHeaders(res, rate);
    if (exact) rewriteResponse(res, exact.restore);
    await deps.sdk.handle(req, res, caller, message);
  };

  return async (req, res) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.observe?.(res.statusCode, ms / 1000);
      // Tool calls are counted in usage; their access-log lines are debug-level so the hot path
      // stays cheap (LOG_LEVEL=debug shows them). Refusals and failures are always logged.
      const level = res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'info' : 'debug';
      deps.log[level]({ method: 'POST', path: '/mcp', status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    const seen: { rate: RateDecision | undefined } = { rate: undefined };
    try {
      await serve(req, res, deps.clientAddress(req), seen);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      fail(res, err, seen.rate);
    }
  };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_MCP_BODY_BYTES) throw new PayloadTooLargeError('The request body is too large.');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_MCP_BODY_BYTES) throw new PayloadTooLargeError('The request body is too large.');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
