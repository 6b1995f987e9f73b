import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Router } from 'express';
import { UnauthorizedError } from '../../errors.js';
import type { Metrics } from '../../metrics/metrics.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

async function writeMetrics(metrics: Metrics, res: ServerResponse): Promise<void> {
  const body = await metrics.registry.metrics();
  res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
  res.end(body);
}

/**
 * `GET /metrics` on the main port, only with `METRICS_TOKEN` set and only to `Authorization:
 * Bearer <token>`: the figures say how busy the server is and which providers it talks to, which
 * is nobody's business but the operator's. Compared as SHA-256 digests in constant time.
 */
export function metricsRouter(deps: { metrics: Metrics; token: string | undefined }): Router {
  const router = Router();
  const token = deps.token;
  if (token === undefined) return router;
  const expected = digest(`Bearer ${token}`);
  router.get('/metrics', async (req, res) => {
    const presented = req.headers.authorization;
    if (!presented || !timingSafeEqual(digest(presented), expected)) {
      throw new UnauthorizedError('GET /metrics needs Authorization: Bearer <METRICS_TOKEN>.', 'Bearer realm="metrics"');
    }
    await writeMetrics(deps.metrics, res);
  });
  return router;
}

/**
 * The listener for `METRICS_PORT`: `GET /metrics` and nothing else, no authentication (the
 * port is meant for a private network only: Fly's internal addresses, a sidecar, localhost).
 */
export function metricsListener(metrics: Metrics): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: this port serves GET /metrics only.\n');
      return;
    }
    writeMetrics(metrics, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
}
