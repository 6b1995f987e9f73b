/** A JSON answer from the app, with its raw text kept (for "this secret never appears" checks). */
export interface JsonAnswer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

/**
 * Calls the app's JSON API with an `sk_` key. `body` is sent as JSON unless it is already a
 * string (to send malformed JSON). Every answer's text is appended to `seen` when given.
 */
export async function callApi(
  baseUrl: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; seen?: string[] } = {},
): Promise<JsonAnswer> {
  const headers: Record<string, string> = {};
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  options.seen?.push(text);
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: callers assert on text or status
  }
  return { status: res.status, headers: res.headers, text, body: parsed };
}
