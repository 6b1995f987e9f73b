/**
 * The scale benchmark's upstream, in a process of its own: a REST API behind per-user API keys
 * (`Authorization: Bearer up-<n>`) answering `GET /me` with that user's id. As plain as an
 * upstream gets, so the figures are this server's. Prints `{"url":…}`, serves until SIGTERM.
 */
import http from 'node:http';

const server = http.createServer((req, res) => {
  const auth = req.headers.authorization ?? '';
  if (req.url !== '/api/me' || !auth.startsWith('Bearer up-')) {
    res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
    return;
  }
  const body = `{"id":"${auth.slice('Bearer up-'.length)}"}`;
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/api` })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
