import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startAppWithUpstream } from '../support/app.js';
import { call, createKey } from '../support/api-client.js';
import { authorizeInBrowser } from '../support/browser.js';
import { textOf } from '../support/mcp-client.js';

type Fixture = Awaited<ReturnType<typeof startAppWithUpstream>>;

interface AuditEvent {
  at: string;
  type: string;
  key_prefix: string | null;
  ip: string | null;
  user_agent: string | null;
  detail: Record<string, unknown>;
}
interface AuditPage {
  events: AuditEvent[];
  next_before: string | null;
}

/** A user acting from one address with one user agent (the app trusts X-Forwarded-For from loopback). */
function client(ip: string, userAgent: string): Record<string, string> {
  return { 'x-forwarded-for': ip, 'user-agent': userAgent };
}

describe('the audit log', () => {
  let f: Fixture;
  before(async () => {
    f = await startAppWithUpstream();
  });
  after(() => f.close());

  const audit = async (key: string, query = ''): Promise<AuditPage> => {
    const res = await call<AuditPage>(f.app.url, 'GET', `/api/audit${query}`, { key });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };

  it('records key creation, rotation and revocation with time, key prefix, address and user agent', async () => {
    const laptop = client('198.51.100.20', 'curl/8.5.0');
    const reg = await call<{ api_key: string }>(f.app.url, 'POST', '/api/users/register', { body: { name: 'auditee' }, headers: laptop });
    const key = reg.body.api_key;
    const prefix = key.slice(0, 15);
    const started = Date.now();

    const created = await call<{ id: string; prefix: string }>(f.app.url, 'POST', '/api/keys', { key, body: { name: 'ci', scopes: ['keys'] }, headers: laptop });
    assert.equal(created.status, 201);
    const rotated = await call<{ id: string; prefix: string }>(f.app.url, 'POST', `/api/keys/${created.body.id}/rotate`, {
      key,
      body: { grace_seconds: 60 },
      headers: client('198.51.100.21', 'deploy-bot/2'),
    });
    assert.equal(rotated.status, 201);
    assert.equal((await call(f.app.url, 'DELETE', `/api/keys/${rotated.body.id}`, { key, headers: laptop })).status, 200);

    const { events } = await audit(key);
    assert.deepEqual(
      events.map((e) => e.type),
      ['key.revoked', 'key.rotated', 'key.created', 'key.created'],
      'newest first',
    );
    const [revoked, rotation, creation, registration] = events as [AuditEvent, AuditEvent, AuditEvent, AuditEvent];
    for (const e of events) {
      assert.deepEqual(Object.keys(e).sort(), ['at', 'detail', 'ip', 'key_prefix', 'type', 'user_agent']);
      assert.ok(Date.parse(e.at) >= started - 5_000 && Date.parse(e.at) <= Date.now() + 1_000, e.at);
    }
    assert.deepEqual(
      { ...creation, at: undefined },
      {
        at: undefined,
        type: 'key.created',
        key_prefix: prefix,
        ip: '198.51.100.20',
        user_agent: 'curl/8.5.0',
        detail: { key_id: created.body.id, prefix: created.body.prefix, name: 'ci', scopes: ['keys'], expires_at: null, via: 'api' },
      },
    );
    assert.equal(rotation.ip, '198.51.100.21');
    assert.equal(rotation.user_agent, 'deploy-bot/2');
    assert.equal(rotation.detail.key_id, created.body.id);
    assert.equal(rotation.detail.new_prefix, rotated.body.prefix);
    assert.equal(rotation.detail.grace_seconds, 60);
    assert.equal(revoked.detail.prefix, rotated.body.prefix);
    assert.equal(revoked.key_prefix, prefix);
    // Registration happens before there is a key to act with; the new key is in the detail.
    assert.equal(registration.key_prefix, null);
    assert.equal(registration.detail.prefix, prefix);
    assert.equal(registration.detail.via, 'register');
    assert.equal(registration.ip, '198.51.100.20');
    assert.ok(!JSON.stringify(events).includes(key), 'no secret in the audit log');
  });

  it('records connections made, revoked and needing re-authorization (with the tool call’s address)', async () => {
    const reg = await call<{ api_key: string }>(f.app.url, 'POST', '/api/users/register', { body: {} });
    const key = reg.body.api_key;
    const start = await call<{ authorization_url: string }>(f.app.url, 'GET', '/api/connect/acme/start', { key });
    assert.equal((await authorizeInBrowser(start.body.authorization_url, 'audited', key)).status, 200);

    // The upstream revokes the grant: the next tool call's refresh is refused.
    await f.upstream.revokeGrantsFor('audited');
    const mcp = new Client({ name: 'audit-test', version: '1.0.0' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`${f.app.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${key}`, ...client('203.0.113.50', 'claude-desktop/0.9') } },
      }),
    );
    try {
      const result = await mcp.callTool({ name: 'whoami', arguments: {} });
      assert.equal(result.isError, true);
      assert.match(textOf(result), /re-authorized/);
    } finally {
      await mcp.close();
    }
    assert.equal((await call(f.app.url, 'DELETE', '/api/connect/acme', { key, headers: client('198.51.100.30', 'curl/8') })).status, 200);

    const { events } = await audit(key);
    const byType = new Map(events.map((e) => [e.type, e]));
    const made = byType.get('connection.created');
    assert.deepEqual(made?.detail, { provider: 'acme', account_id: 'audited' });
    assert.equal(made?.key_prefix, null, 'the callback is a browser, not a key');
    assert.equal(made?.ip, '127.0.0.1');
    const reauth = byType.get('connection.reauth_required');
    assert.deepEqual(reauth?.detail, { provider: 'acme' });
    assert.equal(reauth?.ip, '203.0.113.50');
    assert.equal(reauth?.user_agent, 'claude-desktop/0.9');
    assert.equal(reauth?.key_prefix, key.slice(0, 15));
    const revoked = byType.get('connection.revoked');
    assert.deepEqual(revoked?.detail, { provider: 'acme' });
    assert.equal(revoked?.ip, '198.51.100.30');
    assert.deepEqual(
      events.map((e) => e.type).slice(0, 3),
      ['connection.revoked', 'connection.reauth_required', 'connection.created'],
    );
  });

  it('shows only the caller’s own events, paged newest first with an exact cursor or a timestamp', async () => {
    const reg = await call<{ api_key: string }>(f.app.url, 'POST', '/api/users/register', { body: {} });
    const key = reg.body.api_key;
    const other = await call<{ api_key: string }>(f.app.url, 'POST', '/api/users/register', { body: {} });
    await createKey(f.app.url, other.body.api_key, { name: 'not yours' });
    for (let i = 0; i < 4; i++) await createKey(f.app.url, key, { name: `k${i}`, scopes: ['connections'] });

    const all = await audit(key);
    assert.equal(all.events.length, 5);
    assert.equal(all.next_before, null, 'a short page is the last');
    assert.ok(!all.events.some((e) => e.detail.name === 'not yours'));
    const names = all.events.map((e) => e.detail.name);
    assert.deepEqual(names, ['k3', 'k2', 'k1', 'k0', 'default']);

    const first = await audit(key, '?limit=2');
    assert.deepEqual(first.events.map((e) => e.detail.name), ['k3', 'k2']);
    assert.ok(first.next_before);
    const second = await audit(key, `?limit=2&before=${first.next_before}`);
    assert.deepEqual(second.events.map((e) => e.detail.name), ['k1', 'k0']);
    const third = await audit(key, `?limit=2&before=${second.next_before}`);
    assert.deepEqual(third.events.map((e) => e.detail.name), ['default']);

    const byTime = await audit(key, `?before=${encodeURIComponent((all.events[1] as AuditEvent).at)}`);
    assert.deepEqual(byTime.events.map((e) => e.detail.name), ['k1', 'k0', 'default'], 'strictly older than that instant');
  });

  it('bad paging parameters are 400 invalid_request', async () => {
    const reg = await call<{ api_key: string }>(f.app.url, 'POST', '/api/users/register', { body: {} });
    for (const query of ['?limit=0', '?limit=201', '?limit=x', '?before=yesterday', '?before=c_AAAA', '?page=2']) {
      const res = await call(f.app.url, 'GET', `/api/audit${query}`, { key: reg.body.api_key });
      assert.equal(res.status, 400, query);
      assert.equal(res.body.error, 'invalid_request');
    }
  });
});
