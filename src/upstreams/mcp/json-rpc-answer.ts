/** One JSON-RPC answer from an upstream MCP server: a result, or an error object. */
export type RpcAnswer = { result: unknown } | { error: { code: number; message: string } };

/** The upstream broke the protocol (no answer to our request, malformed JSON, a batch…). */
export class McpProtocolError extends Error {
  override name = 'McpProtocolError';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function answerOf(message: unknown, id: number): RpcAnswer | undefined {
  if (!isObject(message) || message.id !== id) return undefined;
  if ('result' in message) return { result: message.result };
  const error = message.error;
  if (isObject(error)) {
    return { error: { code: typeof error.code === 'number' ? error.code : 0, message: typeof error.message === 'string' ? error.message.slice(0, 500) : 'error' } };
  }
  throw new McpProtocolError('the answer is neither a result nor an error');
}

/**
 * Finds the answer to request `id` in a response body. Streamable HTTP lets a server answer a
 * POST with plain JSON or with an SSE stream that may carry notifications and server requests
 * before the answer (MCP 2025-06-18, "Sending Messages to the Server"); those are skipped here,
 * since this client offers no capabilities that would make the server expect a reply.
 */
export function readAnswer(contentType: string, body: string, id: number): RpcAnswer {
  if (/^\s*text\/event-stream/i.test(contentType)) {
    for (const data of sseData(body)) {
      let message: unknown;
      try {
        message = JSON.parse(data);
      } catch {
        continue;
      }
      const answer = answerOf(message, id);
      if (answer) return answer;
    }
    throw new McpProtocolError('the event stream ended without an answer');
  }
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    throw new McpProtocolError('the answer is not JSON');
  }
  const answer = answerOf(message, id);
  if (!answer) throw new McpProtocolError('the answer does not match the request');
  return answer;
}

/** The `data` of each event (multi-line data joined with "\n", as the SSE spec says). */
function* sseData(body: string): Generator<string> {
  for (const event of body.split(/\r?\n\r?\n/)) {
    const lines = event.split(/\r?\n/).filter((line) => line.startsWith('data:'));
    if (lines.length > 0) yield lines.map((line) => line.slice(line.startsWith('data: ') ? 6 : 5)).join('\n');
  }
}
