import type { IncomingMessage, ServerResponse } from 'node:http';
import { isJsonContentType } from '@modelcontextprotocol/sdk/shared/mediaType.js';
import { AppError, ForbiddenError, PayloadTooLargeError, ServerError } from '../errors.js';
import { createOriginCheck, ORIGIN_CHECK_MESSAGES } from '../http/middleware/dns-rebinding.js';
import type { Logger } from '../log.js';
import type { Caller } from './call-tool.js';
import type { FastDispatcher } from './fast-dispatch.js';
import type { McpHandler } from './mcp-server.js';
import { canUseTools } from './tool-access.js';

/** A JSON-RPC message larger than this is refused with 413 before it is parsed. */
export const MAX_MCP_BODY_BYTES = 1024 * 1024;

export interface McpEndpointDeps {
  publicUrl: string;
  /** Resolves the caller from the request's key or token; throws an AppError (401/429…) otherwise. */
  authenticate(req: IncomingMessage): Promise<Caller>;
  fast: FastDispatcher;
  sdk: McpHandler;
  /** Headers every response carries (the app's helmet headers), so this path is no less hardened. */
  securityHeaders: Readonly<Record<string, string>>;
  log: Logger;
}

/**
 * `POST /mcp`, served ahead of the express stack: routing and generic body parsing were a
 * quarter of the CPU of a tool call. The checks are the same as everywhere else — Host/Origin
 * first (a rebinding page learns nothing), then the key, then the scope — and errors have the
 * contract's shape.
 */
export function createMcpEndpoint(deps: McpEndpointDeps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const originCheck = createOriginCheck(deps.publicUrl);

  const fail = (res: ServerResponse, error: AppError): void => {
    res.writeHead(error.status, { ...deps.securityHeaders, ...error.headers, 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(error.toResponseObject()));
  };

  return async (req, res) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      deps.log[res.statusCode >= 500 ? 'error' : 'info']({ method: 'POST', path: '/mcp', status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
    });
    try {
      const verdict = originCheck(req.headers.host, req.headers.origin);
      if (verdict !== 'ok') throw new ForbiddenError(ORIGIN_CHECK_MESSAGES[verdict], verdict);
      const caller = await deps.authenticate(req);
      if (!canUseTools(caller.scopes)) {
        throw new ForbiddenError('This API key lacks the "tools:read" or "tools:write" scope.', 'insufficient_scope');
      }
      const accept = req.headers.accept ?? '';
      if (!accept.includes('application/json') || !accept.includes('text/event-stream') || !isJsonContentType(req.headers['content-type'] ?? null)) {
        // The SDK answers these protocol errors (406/415) in its own words.
        await deps.sdk.handle(req, res, caller, undefined);
        return;
      }
      const text = await readBody(req);
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        res.writeHead(400, { ...deps.securityHeaders, 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: Invalid JSON' }, id: null }));
        return;
      }
      const protocolVersion = req.headers['mcp-protocol-version'];
      const fast = deps.fast.dispatch(message, caller, typeof protocolVersion === 'string' ? protocolVersion : undefined);
      if (fast) {
        const body = await fast;
        res.writeHead(200, { ...deps.securityHeaders, 'content-type': 'application/json' });
        res.end(body);
        return;
      }
      await deps.sdk.handle(req, res, caller, message);
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (!(err instanceof AppError)) deps.log.error({ err }, 'unhandled error on /mcp');
      fail(res, err instanceof AppError ? err : new ServerError());
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
