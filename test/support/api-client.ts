/** A JSON HTTP call the way a user's script makes it, with the answer decoded once. */
export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
}

export async function call<T = Record<string, unknown>>(
  baseUrl: string,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: body as T };
}

export interface KeyCreated {
  id: string;
  api_key: string;
  name: string | null;
  prefix: string;
  scopes: string[];
  expires_at: string | null;
  rate_limit: { per_minute: number; per_hour: number };
}

/** POST /api/keys that must succeed. */
export async function createKey(baseUrl: string, key: string, body: Record<string, unknown> = {}): Promise<KeyCreated> {
  const res = await call<KeyCreated>(baseUrl, 'POST', '/api/keys', { key, body });
  if (res.status !== 201) throw new Error(`POST /api/keys answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * Rate limits count in fixed, epoch-aligned minutes. A test that needs `seconds` of one minute
 * waits for the next minute when fewer are left, so the window cannot reset under it.
 */
export async function roomInCurrentMinute(seconds: number): Promise<void> {
  const left = 60_000 - (Date.now() % 60_000);
  if (left < seconds * 1000) await new Promise((r) => setTimeout(r, left + 50));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it returns true; resolves with the elapsed ms, rejects after `timeoutMs`. */
export async function waitUntil(probe: () => Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await probe()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}
