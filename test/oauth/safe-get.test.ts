import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { safeGet } from '../../src/outbound/safe-get.js';
import { selfSignedCertificate } from './support.js';

/**
 * The bounds of safeGet (now over the shared exchange) against a real HTTPS server that stalls,
 * trickles or sends too much: each ends with a SafeFetchError, within the time cap.
 */
describe('safeGet: the SSRF-guarded metadata fetch keeps its time and size caps', () => {
  const tls = selfSignedCertificate();
  const sockets = new Set<Socket>();
  let server: Server;
  let base = '';
  const options = { policy: (a: string) => a === '127.0.0.1', ca: tls.cert, maxBytes: 1024, timeoutMs: 400 };

  before(async () => {
    server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      if (req.url === '/silent') return; // never answers
      if (req.url === '/trickle') {
        res.writeHead(200, { 'content-type': 'application/json' });
        const timer = setInterval(() => res.write(' '), 50);
        res.on('close', () => clearInterval(timer));
        return;
      }
      if (req.url === '/endless') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('x'.repeat(4096));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    server.on('secureConnection', (s) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads a small document', async () => {
    const res = await safeGet(new URL(`${base}/ok.json`), options);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body.toString('utf8')), { ok: true });
  });

  it('ends a silent or trickling server at the time cap, and a too-large body at the size cap', async () => {
    for (const path of ['/silent', '/trickle']) {
      const started = Date.now();
      await assert.rejects(safeGet(new URL(`${base}${path}`), options), /no answer within 400 ms/, path);
      assert.ok(Date.now() - started < 5_000, `${path} ended by the cap, not by the server`);
    }
    await assert.rejects(safeGet(new URL(`${base}/endless`), options), /larger than 1024 bytes/);
    // The one-off connection of each fetch is closed, not left in a pool.
    for (let i = 0; i < 50 && sockets.size > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(sockets.size, 0, 'no connection outlives its fetch');
  });

  it('refuses plain http and addresses outside the policy before connecting', async () => {
    await assert.rejects(safeGet(new URL(`http://127.0.0.1:1/x`), options), /only https/);
    await assert.rejects(safeGet(new URL(`${base}/ok.json`), { ...options, policy: () => false }), /does not fetch from/);
  });
});
