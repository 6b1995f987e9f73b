import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A load balancer in front of several instances: each request goes to the next one in turn. */
export interface RoundRobin {
  /** `http://127.0.0.1:PORT`, the deployment's PUBLIC_URL. */
  url: string;
  /** Set (or replace) the instances once they listen. */
  setTargets(urls: string[]): void;
  /** How many requests each target got, in the order of setTargets. */
  served(): number[];
  close(): Promise<void>;
}

/**
 * Plain HTTP/1.1 forwarding with no affinity of any kind (no sticky cookie, no per-connection
 * pinning: every request picks the next target), so a test through it proves that state lives in
 * PostgreSQL and not in one process. It sets X-Forwarded-For as a real proxy would.
 */
export async function startRoundRobin(): Promise<RoundRobin> {
  let targets: URL[] = [];
  let counts: number[] = [];
  let next = 0;
  const server: Server = createServer((req, res) => {
    if (targets.length === 0) return void res.writeHead(503).end('no targets');
    const index = next++ % targets.length;
    counts[index] = (counts[index] ?? 0) + 1;
    const target = targets[index] as URL;
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '127.0.0.1' } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.headersSent ? res.destroy() : res.writeHead(502).end('target failed'));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setTargets(urls) {
      targets = urls.map((u) => new URL(u));
      counts = urls.map(() => 0);
    },
    served: () => [...counts],
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
