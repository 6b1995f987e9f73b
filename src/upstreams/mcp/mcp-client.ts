import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { Agent } from 'undici';
import type { Deadline } from '../../outbound/deadline.js';
import { exchange, type ExchangeResult } from '../../outbound/exchange.js';
import { McpProtocolError, readAnswer, type RpcAnswer } from './json-rpc-answer.js';

/** Upper bound on one answer from an upstream MCP server (a tools/list page or a tool result). */
export const MAX_MCP_ANSWER_BYTES = 2 * 1024 * 1024;
/** Upstream sessions kept at once; the oldest is forgotten first (it is simply re-initialised). */
const MAX_SESSIONS = 10_000;

/** The upstream answered HTTP `status` (401 included: the caller decides whether to refresh). */
export class McpHttpError extends Error {
  override name = 'McpHttpError';
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** An answer larger than MAX_MCP_ANSWER_BYTES: cut JSON cannot be read, so it is refused whole. */
export class McpAnswerTooLargeError extends Error {
  override name = 'McpAnswerTooLargeError';
}

export { McpProtocolError };

/** Where one user's requests go and what they carry (their credentials, the provider's headers). */
export interface McpTarget {
  /** Sessions are kept per connection: `<user>\0<provider>`. */
  key: string;
  url: string;
  headers: Record<string, string>;
  /** Each exchange (initialize, initialized, the request, a re-initialisation)… */
  timeoutMs: number;
  /** …and all of them together, when the request is part of a tool call. */
  deadline?: Deadline;
}

export interface McpClient {
  /** One request on the connection's session (initialised first when there is none). */
  request(target: McpTarget, method: string, params: Record<string, unknown>): Promise<RpcAnswer>;
  /** Forgets a connection's session (after a disconnect). */
  forget(key: string): void;
}

interface Session {
  id: string | undefined;
  protocolVersion: string;
}

/**
 * A small streamable-HTTP MCP client over the one bounded exchange (outbound/exchange.ts), not
 * the SDK's Client: that one holds a transport per connection with its own fetch, timers and
 * an optional standalone SSE stream, while a proxy needs thousands of short request/answer
 * pairs with hard bounds. Sessions (`Mcp-Session-Id`) live in memory per connection; a 404
 * means the upstream forgot the session, so it is re-initialised once — no affinity is needed
 * on our side, whichever instance serves the user.
 */
export function createMcpClient(): McpClient {
  const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000, connections: 128 });
  const sessions = new Map<string, Promise<Session>>();
  let nextId = 1;

  // Parsed once per upstream URL: there are as many as MCP providers, and exchange() only reads them.
  const urls = new Map<string, URL>();
  const urlOf = (url: string): URL => {
    let parsed = urls.get(url);
    if (!parsed) urls.set(url, (parsed = new URL(url)));
    return parsed;
  };

  async function post(target: McpTarget, message: Record<string, unknown>, session: Session | undefined): Promise<ExchangeResult> {
    // One object per request, filled key by key (no spread of a spread: see docs/performance.md).
    const headers: Record<string, string> = {};
    for (const name in target.headers) headers[name] = target.headers[name] as string;
    headers.accept = 'application/json, text/event-stream';
    headers['content-type'] = 'application/json';
    if (session?.id) headers['mcp-session-id'] = session.id;
    if (session) headers['mcp-protocol-version'] = session.protocolVersion;
    const timeoutMs = target.deadline ? target.deadline.cap(target.timeoutMs) : target.timeoutMs;
    const response = await exchange(agent, { url: urlOf(target.url), method: 'POST', headers, body: JSON.stringify(message) }, { timeoutMs, maxBytes: MAX_MCP_ANSWER_BYTES });
    if (response.truncated) throw new McpAnswerTooLargeError(`the answer is larger than ${MAX_MCP_ANSWER_BYTES / 1024 / 1024} MB`);
    return response;
  }

  /** The answer and the response it came in (initialize reads the session id from its headers). */
  async function call(target: McpTarget, method: string, params: Record<string, unknown>, session: Session | undefined): Promise<{ answer: RpcAnswer; response: ExchangeResult }> {
    const id = nextId++;
    const response = await post(target, { jsonrpc: '2.0', id, method, params }, session);
    if (response.status < 200 || response.status > 299) throw new McpHttpError(response.status);
    return { answer: readAnswer(String(response.headers['content-type'] ?? ''), response.text, id), response };
  }

  async function initialize(target: McpTarget): Promise<Session> {
    const { answer, response } = await call(target, 'initialize', { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mcp-oauth-proxy', version: '1' } }, undefined);
    if ('error' in answer) throw new McpProtocolError(`initialize failed: ${answer.error.message}`);
    const header = response.headers['mcp-session-id'];
    const result = answer.result as { protocolVersion?: unknown } | null;
    const session: Session = {
      id: typeof header === 'string' ? header : undefined,
      protocolVersion: typeof result?.protocolVersion === 'string' ? result.protocolVersion : LATEST_PROTOCOL_VERSION,
    };
    const initialized = await post(target, { jsonrpc: '2.0', method: 'notifications/initialized' }, session);
    if (initialized.status < 200 || initialized.status > 299) throw new McpHttpError(initialized.status);
    return session;
  }

  /** Concurrent first calls of one connection share one initialisation. */
  function sessionFor(target: McpTarget): Promise<Session> {
    const known = sessions.get(target.key);
    if (known) return known;
    if (sessions.size >= MAX_SESSIONS) sessions.delete(sessions.keys().next().value as string);
    const started = initialize(target);
    sessions.set(target.key, started);
    started.catch(() => {
      if (sessions.get(target.key) === started) sessions.delete(target.key);
    });
    return started;
  }

  return {
    async request(target, method, params) {
      const session = await sessionFor(target);
      try {
        return (await call(target, method, params, session)).answer;
      } catch (err) {
        // Only a 404 to a request that named a session means "session expired" (streamable HTTP).
        if (!(err instanceof McpHttpError && err.status === 404 && session.id)) throw err;
        const current = sessions.get(target.key);
        if (current && (await current.catch(() => undefined)) === session) sessions.delete(target.key);
        const fresh = await sessionFor(target);
        return (await call(target, method, params, fresh)).answer;
      }
    },
    forget(key) {
      sessions.delete(key);
    },
  };
}
