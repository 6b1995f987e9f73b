/**
 * Load for the scale benchmark, in a process of its own (so it never competes with the
 * orchestrator's event loop): `tools/call` round-robin over the first K keys of the keys file.
 * argv[2]: JSON { url, keysFile, from, count, connections, duration? | amount? }. Prints one JSON line.
 */
import { readFile } from 'node:fs/promises';
import autocannon from 'autocannon';

interface LoadSpec {
  url: string;
  keysFile: string;
  /** Keys [from, from + count) of the file, in order, round-robin. */
  from: number;
  count: number;
  connections: number;
  /** Seconds; or `amount`: exactly that many requests (a warm-up pass: each key once). */
  duration?: number;
  amount?: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const lines = (await readFile(spec.keysFile, 'utf8')).split('\n').filter(Boolean);
const keys = lines.slice(spec.from, spec.from + spec.count).map((l) => `Bearer ${(JSON.parse(l) as { key: string }).key}`);
if (keys.length < spec.count) throw new Error(`only ${keys.length} keys in ${spec.keysFile}`);
let next = 0;
let toolErrors = 0;

/**
 * Each key's user calls from an address of their own, as K different people do through the
 * server's proxy (the server trusts X-Forwarded-For from loopback, TRUST_PROXY's default). From
 * one shared address, the per-address brute-force guard (at most 3 never-seen keys checked at once,
 * docs/security.md) would turn a burst of first calls into 429s: right for an attacker, wrong here.
 */
function clientAddress(n: number): string {
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}
const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'whoami', arguments: {} } });

let instance: { stop(): void } | undefined;
// SIGINT ends an open-ended run (the hot key during the cold burst) with its figures so far.
process.on('SIGINT', () => instance?.stop());
const result = await new Promise<Parameters<Parameters<typeof autocannon>[1]>[1]>((resolve, reject) => {
  instance = autocannon({
  url: `${spec.url}/mcp`,
  connections: spec.connections,
  // A first call waits its turn for bcrypt (one at a time on 2 CPUs): a burst of them is slow by
  // design, and a client that gave up after autocannon's default 10 s would count as an error.
  timeout: 120,
  ...(spec.amount !== undefined ? { amount: spec.amount } : { duration: spec.duration ?? 10 }),
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
  body,
  requests: [
    {
      // Called for every request: the next key, round-robin.
      setupRequest: (req: { headers?: Record<string, string> }) => {
        const i = next++ % keys.length;
        req.headers = { ...req.headers, authorization: keys[i] as string, 'x-forwarded-for': clientAddress(spec.from + i) };
        return req;
      },
      // A tool result with isError is an HTTP 200 that autocannon would count as a success: a
      // refusal (in-flight cap, rate limit, not connected) must show up as an error instead.
      onResponse: (status: number, text: string) => {
        if (status === 200 && text.includes('"isError":true')) toolErrors += 1;
      },
    },
  ],
  }, (err, r) => (err ? reject(err) : resolve(r)));
});
process.stdout.write(
  `${JSON.stringify({
    requests_per_sec: Math.round(result.requests.average),
    total: result.requests.total,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: result.errors + result.timeouts + toolErrors,
    tool_errors: toolErrors,
    non_2xx: result.non2xx,
    seconds: result.duration,
  })}\n`,
);
