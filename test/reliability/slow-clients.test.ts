import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createHttpServer, DEFAULT_SERVER_TIMEOUTS } from '../../src/http/server.js';
import { bearer, register, startApp, type TestApp } from '../support/app.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

/** How many slowloris connections, and how fast they trickle (one byte per interval). */
const SLOW_CONNECTIONS = 300;
const BYTE_INTERVAL_MS = 150;
/** The server's timeouts, shortened so the test waits seconds, not main.ts's 10 s. */
const TIMEOUTS = { headersTimeoutMs: 4_000, requestTimeoutMs: 6_000, checkIntervalMs: 250 };

/**
 * Issue 15, slow clients: 300 connections that send their headers a byte at a time (slowloris)
 * while a normal client registers, creates a key and lists its keys. The normal client is
 * answered, correctly; the server then ends every slow connection itself (headersTimeout) with a
 * 408 in the contract's shape. The figures go to the test's diagnostics (docs/reliability.md).
 */
describe('slowloris connections do not starve a normal client', () => {
  let db: TestDatabase;
  let app: TestApp;
  before(async () => {
    db = await createTestDatabase();
    app = await startApp({ databaseUrl: db.url, providers: [], serverTimeouts: TIMEOUTS });
  });
  after(async () => {
    await app.close();
    await db.drop();
  });

  it('main.ts listens with the documented timeouts, not Node’s defaults', () => {
    const server = createHttpServer();
    assert.equal(server.headersTimeout, 10_000);
    assert.equal(server.requestTimeout, 30_000);
    assert.equal(server.keepAliveTimeout, 65_000);
    assert.deepEqual(DEFAULT_SERVER_TIMEOUTS, { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 65_000, checkIntervalMs: 1_000 });
  });

  it(`${SLOW_CONNECTIONS} slowloris connections: a normal client is served, the slow ones are cut off`, async (t) => {
    // The same steps with no slow connection, for comparison in the figure.
    const baselineStarted = Date.now();
    await normalClient(app, 'baseline client');
    const baselineMs = Date.now() - baselineStarted;

    const { port } = new URL(app.url);
    const request = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: slowloris\r\nX-Padding: ${'a'.repeat(200)}\r\n\r\n`;
    const slow = await Promise.all(Array.from({ length: SLOW_CONNECTIONS }, () => trickle(Number(port), request)));
    // Every slow connection is open and has sent part of its headers before the normal client starts.
    await new Promise((r) => setTimeout(r, BYTE_INTERVAL_MS * 3));
    assert.equal(slow.filter((s) => s.closedAt === undefined).length, SLOW_CONNECTIONS, 'all slow connections are open');

    const started = Date.now();
    await normalClient(app, 'normal client');
    const servedMs = Date.now() - started;
    const stillOpen = slow.filter((s) => s.closedAt === undefined).length;

    // The server, not the client, ends each slow connection: the trickle never finishes its headers.
    await Promise.all(slow.map((s) => s.closed));
    const cutAfter = slow.map((s) => (s.closedAt ?? 0) - s.openedAt).sort((a, b) => a - b);
    assert.ok(slow.every((s) => !s.finished), 'no slow connection got to send its whole request');
    const answered = slow.filter((s) => s.answer.startsWith('HTTP/1.1 408'));
    assert.ok(answered.every((s) => s.answer.includes('"error":"request_timeout"')), 'a 408 carries the contract error');
    assert.equal(answered.length + slow.filter((s) => s.answer === '').length, SLOW_CONNECTIONS, 'every slow connection got a 408 or was closed');
    const figure = `normal client: register + create key + list keys in ${servedMs} ms (${baselineMs} ms without slow connections) with ${stillOpen}/${SLOW_CONNECTIONS} slowloris connections open; server cut them after ${cutAfter[0]}–${cutAfter.at(-1)} ms (headersTimeout ${TIMEOUTS.headersTimeoutMs} ms), ${answered.length} with 408`;
    t.diagnostic(figure);
    assert.equal((await fetch(`${app.url}/healthz`)).status, 200);
  });
});

/** What a normal client does: register, create a key, list its keys — each answer checked. */
async function normalClient(app: TestApp, name: string): Promise<void> {
  const user = await register(app, name);
  const created = await fetch(`${app.url}/api/keys`, { method: 'POST', headers: { ...bearer(user.apiKey), 'content-type': 'application/json' }, body: '{"name":"second key"}' });
  assert.equal(created.status, 201);
  const listed = await fetch(`${app.url}/api/keys`, { headers: bearer(user.apiKey) });
  assert.equal(listed.status, 200);
  const names = ((await listed.json()) as { keys: Array<{ name: string | null }> }).keys.map((k) => k.name).sort();
  assert.deepEqual(names, ['default', 'second key']);
}

interface Trickle {
  openedAt: number;
  closedAt: number | undefined;
  finished: boolean;
  answer: string;
  closed: Promise<void>;
}

/** Opens a connection and sends `request` one byte per BYTE_INTERVAL_MS until the server hangs up. */
async function trickle(port: number, request: string): Promise<Trickle> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const state: Trickle = { openedAt: Date.now(), closedAt: undefined, finished: false, answer: '', closed: Promise.resolve() };
  let sent = 0;
  const timer = setInterval(() => {
    if (sent >= request.length) {
      state.finished = true;
      return;
    }
    socket.write(request[sent++] as string);
  }, BYTE_INTERVAL_MS);
  socket.on('data', (chunk: Buffer) => (state.answer += chunk.toString('utf8')));
  socket.on('error', () => undefined); // a reset by the server is one way of being cut off
  state.closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      clearInterval(timer);
      state.closedAt = Date.now();
      resolve();
    }),
  );
  return state;
}
