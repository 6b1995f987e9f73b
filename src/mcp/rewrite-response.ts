import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

type Head = [statusCode: number, statusMessage: string | undefined, headers: OutgoingHttpHeaders];

/**
 * Holds back what a handler writes to `res` and sends it once it ends, with `transform` applied
 * to the body and Content-Length set to match. For the rare responses whose text must change
 * after the SDK wrote it (exact-ids.ts); the SDK answers /mcp in JSON mode, so a response is
 * small and ends — nothing here is a stream.
 */
export function rewriteResponse(res: ServerResponse, transform: (body: string) => string): void {
  const chunks: Buffer[] = [];
  let head: Head | undefined;
  const toBuffer = (chunk: unknown, encoding: unknown): Buffer =>
    Buffer.isBuffer(chunk) ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk) : Buffer.from(String(chunk), typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');

  const own = res as unknown as Record<string, unknown>;
  own.writeHead = (statusCode: number, ...rest: unknown[]) => {
    const message = typeof rest[0] === 'string' ? rest[0] : undefined;
    head = [statusCode, message, headerObject(rest[rest.length - 1])];
    return res;
  };
  own.flushHeaders = () => undefined;
  own.write = (chunk: unknown, encoding?: unknown, callback?: unknown) => {
    chunks.push(toBuffer(chunk, encoding));
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  };
  own.end = (chunk?: unknown, encoding?: unknown, callback?: unknown) => {
    if (chunk !== undefined && chunk !== null && typeof chunk !== 'function') chunks.push(toBuffer(chunk, encoding));
    // Back to the prototype's methods, then send the whole answer in one go.
    for (const name of ['writeHead', 'flushHeaders', 'write', 'end']) delete own[name];
    const body = Buffer.from(transform(Buffer.concat(chunks).toString('utf8')), 'utf8');
    const [statusCode, message, headers]: Head = head ?? [res.statusCode, undefined, {}];
    for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-length') delete headers[name];
    res.removeHeader('content-length');
    headers['content-length'] = body.length;
    if (message !== undefined) res.writeHead(statusCode, message, headers);
    else res.writeHead(statusCode, headers);
    const done = [chunk, encoding, callback].find((f) => typeof f === 'function') as (() => void) | undefined;
    return res.end(body, done);
  };
}

/** writeHead's headers come as an object, a flat [name, value, …] list or [name, value] pairs. */
function headerObject(value: unknown): OutgoingHttpHeaders {
  if (Array.isArray(value)) {
    const out: OutgoingHttpHeaders = {};
    const flat = value.every((v) => !Array.isArray(v)) ? value : value.flat();
    for (let i = 0; i + 1 < flat.length; i += 2) out[String(flat[i])] = flat[i + 1] as string;
    return out;
  }
  return typeof value === 'object' && value !== null ? { ...(value as OutgoingHttpHeaders) } : {};
}
