import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy saw of one request and what the server answered. */
export interface ProxiedRequest {
  method: string;
  path: string;
  host: string | undefined;
  origin: string | undefined;
  status: number;
}

/** A forwarding proxy on 127.0.0.1 that adds fixed headers to every request. */
export interface HeaderProxy {
  /** Base URL of the proxy, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Every request forwarded so far, in the order the answers came back. */
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

/**
 * For clients that cannot send extra headers (the MCP conformance suite has no header option):
 * adds `headers` to each request and forwards everything else as sent. Host and Origin in
 * particular pass through untouched, so the server's DNS-rebinding guard judges what the client
 * really sent, not what the proxy would have written.
 */
export async function startHeaderProxy(target: string, headers: Record<string, string>): Promise<HeaderProxy> {
  const to = new URL(target);
  const requests: ProxiedRequest[] = [];
  const server = http.createServer((req, res) => {
    const upstream = http.request(
      {
        host: to.hostname,
        port: to.port,
        method: req.method,
        path: req.url,
        // Node writes a Host header of its own only when none is given.
        headers: { ...req.headers, ...headers },
        agent: false,
      },
      (answer) => {
        requests.push({
          method: req.method ?? '',
          path: req.url ?? '',
          host: req.headers.host,
          origin: req.headers.origin,
          status: answer.statusCode ?? 0,
        });
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (res.headersSent) res.destroy(err);
      else res.writeHead(502, { 'content-type': 'text/plain' }).end(`proxy: ${err.message}`);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
