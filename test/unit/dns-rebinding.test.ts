import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NextFunction, Request, Response } from 'express';
import { ForbiddenError } from '../../src/errors.js';
import { dnsRebindingGuard } from '../../src/http/middleware/dns-rebinding.js';

type Verdict = 'allowed' | 'forbidden';

/** Runs the guard on a fake request; 'allowed' means next() was called with no error. */
function verdict(publicUrl: string, headers: { host?: string; origin?: string }): Verdict {
  const guard = dnsRebindingGuard(publicUrl);
  const calls: unknown[][] = [];
  const next = ((...args: unknown[]) => {
    calls.push(args);
  }) as NextFunction;
  try {
    void guard({ headers } as unknown as Request, {} as Response, next);
  } catch (err) {
    assert.ok(err instanceof ForbiddenError, `expected a ForbiddenError, got ${String(err)}`);
    assert.equal(err.status, 403);
    assert.equal(calls.length, 0, 'a refused request never reaches the next handler');
    return 'forbidden';
  }
  assert.equal(calls.length, 1, 'next is called once');
  assert.deepEqual(calls[0], [], 'next is called without an error');
  return 'allowed';
}

test('the public host is accepted, with or without an Origin of the public URL', () => {
  assert.equal(verdict('https://mcp.example.com', { host: 'mcp.example.com' }), 'allowed');
  assert.equal(verdict('https://mcp.example.com', { host: 'MCP.Example.com' }), 'allowed', 'host names are case-insensitive');
  assert.equal(verdict('https://mcp.example.com', { host: 'mcp.example.com', origin: 'https://mcp.example.com' }), 'allowed');
  assert.equal(verdict('https://mcp.example.com:8443', { host: 'mcp.example.com:8443' }), 'allowed');
  assert.equal(verdict('https://mcp.example.com/', { host: 'mcp.example.com' }), 'allowed');
});

test('a foreign Host is refused with 403', () => {
  for (const host of ['evil.com', 'mcp.example.com.evil.com', 'evil.com:443', 'mcp.example.com:8080', 'mcp.example.co', '10.0.0.5']) {
    assert.equal(verdict('https://mcp.example.com', { host }), 'forbidden', host);
  }
});

test('the Host rejection says which header was wrong', () => {
  assert.throws(
    () => dnsRebindingGuard('https://mcp.example.com')({ headers: { host: 'evil.com' } } as unknown as Request, {} as Response, () => {}),
    (err: unknown) => err instanceof ForbiddenError && err.code === 'forbidden_host' && err.status === 403,
  );
  assert.throws(
    () =>
      dnsRebindingGuard('https://mcp.example.com')(
        { headers: { host: 'mcp.example.com', origin: 'https://evil.com' } } as unknown as Request,
        {} as Response,
        () => {},
      ),
    (err: unknown) => err instanceof ForbiddenError && err.code === 'forbidden_origin' && err.status === 403,
  );
});

test('a foreign Origin is refused even when the Host is right', () => {
  for (const origin of ['https://evil.com', 'http://mcp.example.com', 'https://mcp.example.com:8443', 'https://mcp.example.com.evil.com', 'null', 'http://localhost:3000']) {
    assert.equal(verdict('https://mcp.example.com', { host: 'mcp.example.com', origin }), 'forbidden', origin);
  }
});

test('a request without a Host header is refused', () => {
  assert.equal(verdict('https://mcp.example.com', {}), 'forbidden');
  assert.equal(verdict('http://localhost:3000', {}), 'forbidden');
  assert.equal(verdict('http://localhost:3000', { host: '' }), 'forbidden');
});

test('with a loopback PUBLIC_URL, every loopback name and port is accepted as Host', () => {
  for (const host of ['localhost:3000', 'localhost', 'LOCALHOST:3000', '127.0.0.1:3000', '127.0.0.1:4000', '[::1]:3000', '[::1]:5555']) {
    assert.equal(verdict('http://localhost:3000', { host }), 'allowed', host);
  }
  assert.equal(verdict('http://127.0.0.1:3000', { host: 'localhost:3000' }), 'allowed');
  assert.equal(verdict('http://[::1]:3000', { host: '127.0.0.1:3000' }), 'allowed');
});

test('with a loopback PUBLIC_URL, look-alike and foreign hosts are still refused', () => {
  for (const host of ['evil.com', 'localhost.evil.com', 'evil.com:3000', '127.0.0.1.evil.com', '127.0.0.1@evil.com', 'evil.com#@localhost', '0.0.0.0:3000', '192.168.1.10:3000']) {
    assert.equal(verdict('http://localhost:3000', { host }), 'forbidden', host);
  }
});

test('with a loopback PUBLIC_URL, loopback origins are accepted and others refused', () => {
  for (const origin of ['http://localhost:3000', 'http://localhost:5173', 'http://127.0.0.1:8080', 'http://[::1]:3000', 'https://localhost']) {
    assert.equal(verdict('http://localhost:3000', { host: 'localhost:3000', origin }), 'allowed', origin);
  }
  for (const origin of ['https://evil.com', 'http://localhost.evil.com', 'null', 'not a url']) {
    assert.equal(verdict('http://localhost:3000', { host: 'localhost:3000', origin }), 'forbidden', origin);
  }
});

test('with a public PUBLIC_URL, loopback hosts are refused', () => {
  for (const host of ['localhost', 'localhost:3000', '127.0.0.1', '127.0.0.1:3000', '[::1]:3000']) {
    assert.equal(verdict('https://mcp.example.com', { host }), 'forbidden', host);
  }
});

test('an explicit default port names the same host', () => {
  assert.equal(verdict('https://mcp.example.com', { host: 'mcp.example.com:443' }), 'allowed');
  assert.equal(verdict('http://mcp.example.com', { host: 'mcp.example.com:80' }), 'allowed');
  assert.equal(verdict('https://mcp.example.com', { host: 'mcp.example.com:80' }), 'forbidden');
});

test('a Host header with userinfo or junk is refused, even on loopback', () => {
  for (const host of ['evil.com@localhost:3000', 'localhost:3000/path', 'localhost:abc', ' localhost']) {
    assert.equal(verdict('http://localhost:3000', { host }), 'forbidden', host);
  }
});
