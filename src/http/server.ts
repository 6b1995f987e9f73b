import http, { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * How long a client may take, set on purpose rather than left at Node 20's defaults
 * (headersTimeout 60 s, requestTimeout 300 s, keepAliveTimeout 5 s, checked every 30 s).
 */
export interface ServerTimeouts {
  /**
   * All request headers must arrive within this (default 10 s). This is what ends slowloris
   * connections (headers sent a byte at a time): with Node's 60 s a few hundred such sockets
   * sit on memory and file descriptors for a minute each. Real clients send headers at once.
   */
  headersTimeoutMs: number;
  /**
   * The whole request — headers and body — must arrive within this (default 30 s): our bodies are
   * at most 1 MB, so a slower upload is an attack, not a client. It does not bound the response:
   * a tool call waiting 30 s on its upstream is untouched.
   */
  requestTimeoutMs: number;
  /**
   * An idle keep-alive connection is closed after this (default 65 s): longer than the 60 s idle
   * timeout of common load balancers (AWS ALB, Fly's proxy), so the proxy, never we, closes a
   * pooled connection first and never sends a request into a socket we are closing.
   */
  keepAliveTimeoutMs: number;
  /**
   * How often Node checks the two timeouts above (Node's default is 30 s, which would let a
   * slowloris socket live up to 40 s despite a 10 s headersTimeout). Default 1 s.
   */
  checkIntervalMs: number;
}

export const DEFAULT_SERVER_TIMEOUTS: ServerTimeouts = Object.freeze({
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
  checkIntervalMs: 1_000,
});

/** The HTTP server main.ts listens with (tests too): timeouts set, malformed HTTP answered in the contract's shape. */
export function createHttpServer(overrides: Partial<ServerTimeouts> = {}): http.Server {
  const t = { ...DEFAULT_SERVER_TIMEOUTS, ...overrides };
  const server = http.createServer({ connectionsCheckingInterval: t.checkIntervalMs });
  // Node requires headersTimeout ≤ requestTimeout (when the latter is set).
  server.requestTimeout = t.requestTimeoutMs;
  server.headersTimeout = Math.min(t.headersTimeoutMs, t.requestTimeoutMs);
  server.keepAliveTimeout = t.keepAliveTimeoutMs;
  server.on('clientError', answerClientError);
  return server;
}

/**
 * Requests Node's HTTP parser refuses before the app sees them (bad request line, a NUL or CR in a
 * header, headers over 16 KB, a request that timed out) get the contract's JSON error instead of
 * Node's body-less one. Mirrors Node's own handler: nothing is written to a socket that is gone
 * or already carries a response.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, error, description] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'request_header_fields_too_large', 'The request headers are too large (16 KB at most).']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'The request did not arrive in time.']
        : [400, 'invalid_request', 'The request is not valid HTTP.'];
  const body = JSON.stringify({ error, error_description: description });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}
