import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { exchange, type ExchangeRequest } from '../../src/outbound/exchange.js';
import { upstreamTimedOut } from '../../src/outbound/exchange.js';

/** A real HTTP server whose routes misbehave in the ways an upstream can. */
describe('exchange: one bounded HTTP request over undici', () => {
  const received: Array<{ method?: string; url?: string; body: string; headers: http.IncomingHttpHeaders }> = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    received.push({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString(), headers: req.headers });
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/json') {
      res.writeHead(201, { 'content-type': 'application/json', 'retry-after': '7' }).end('{"ok":true,"π":"ü"}');
    } else if (url.pathname === '/big') {
      res.writeHead(200).end('a'.repeat(100_000));
    } else if (url.pathname === '/silent') {
      // Never answers; the client's deadline ends it.
    } else if (url.pathname === '/trickle') {
      res.writeHead(200);
      const timer = setInterval(() => res.write('.'), 20);
      res.on('close', () => clearInterval(timer));
    } else if (url.pathname === '/redirect') {
      res.writeHead(302, { location: '/json' }).end();
    } else {
      res.writeHead(404).end();
    }
  });
  const agent = new Agent({ connections: 4 });
  let base: string;
  before(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await agent.close();
  });

  const get = (path: string, extra: Partial<ExchangeRequest> = {}): ExchangeRequest => ({ url: new URL(path, base), method: 'GET', headers: {}, body: undefined, ...extra });
  const bounds = { timeoutMs: 2_000, maxBytes: 64 * 1024 };

  it('sends method, path, query, headers and body; returns status, lower-cased headers and the UTF-8 text', async () => {
    const res = await exchange(agent, get('/json?q=a%20b', { method: 'POST', headers: { 'X-Thing': 'yes' }, body: '{"m":1}' }), bounds);
    assert.equal(res.status, 201);
    assert.equal(res.headers['retry-after'], '7');
    assert.equal(res.text, '{"ok":true,"π":"ü"}');
    assert.equal(res.truncated, false);
    const seen = received.at(-1);
    assert.equal(seen?.method, 'POST');
    assert.equal(seen?.url, '/json?q=a%20b');
    assert.equal(seen?.headers['x-thing'], 'yes');
    assert.equal(seen?.body, '{"m":1}');
  });

  it('stops reading at the cap and says so', async () => {
    const res = await exchange(agent, get('/big'), { ...bounds, maxBytes: 1_000 });
    assert.equal(res.truncated, true);
    assert.equal(res.text, 'a'.repeat(1_000));
    // The connection it dropped is replaced: the next exchange works.
    assert.equal((await exchange(agent, get('/json'), bounds)).status, 201);
  });

  it('ends a silent upstream at the deadline, with an error classified as a timeout', async () => {
    const started = Date.now();
    await assert.rejects(exchange(agent, get('/silent'), { ...bounds, timeoutMs: 200 }), (err: Error) => upstreamTimedOut(err) && /200 ms/.test(err.message));
    assert.ok(Date.now() - started < 1_500);
  });

  it('ends a trickling body at the deadline too, though bytes keep arriving', async () => {
    const started = Date.now();
    await assert.rejects(exchange(agent, get('/trickle'), { ...bounds, timeoutMs: 300 }), (err: Error) => upstreamTimedOut(err));
    assert.ok(Date.now() - started < 1_500);
  });

  it('never follows a redirect', async () => {
    const before = received.length;
    const res = await exchange(agent, get('/redirect'), bounds);
    assert.equal(res.status, 302);
    assert.equal(received.length, before + 1, 'only the first request was sent');
  });

  it('a connection refused is an error, not a timeout', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    await assert.rejects(exchange(agent, { ...get('/'), url: new URL(`http://127.0.0.1:${port}/`) }, bounds), (err: Error) => !upstreamTimedOut(err));
  });

  it('a header undici refuses to send is an error before anything goes out', async () => {
    const before = received.length;
    await assert.rejects(exchange(agent, get('/json', { headers: { 'x-bad': 'a\r\nb' } }), bounds));
    assert.equal(received.length, before);
  });
});
