import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { publicAddressesOnly } from '../../src/outbound/address-policy.js';
import { metadataUrlProblem } from '../../src/oauth-server/client-metadata-documents.js';
import { isOurResource, oauthEndpoints } from '../../src/oauth-server/endpoints.js';
import { cspSourceFor, redirectUriMatches, redirectUriProblem } from '../../src/oauth-server/redirect-uris.js';
import { requestedScopes } from '../../src/oauth-server/scopes.js';
import { pkceMatches } from '../../src/crypto/secrets.js';

describe('SSRF address policy', () => {
  it('refuses loopback, private, link-local, CGNAT, multicast, reserved and IPv4-embedding IPv6 forms', () => {
    for (const address of [
      '127.0.0.1', '127.255.0.9', '10.0.0.1', '172.16.5.5', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1',
      '0.0.0.0', '224.0.0.251', '239.1.2.3', '240.0.0.1', '255.255.255.255', '198.18.0.1', '192.0.2.10',
      '::1', '::', 'fe80::1', 'fc00::1', 'fd12:3456::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:7f00:1', '::a00:1', '64:ff9b::a00:1', '2002:a00:1::1', '2001:db8::1',
      'not-an-ip', '',
    ]) {
      assert.equal(publicAddressesOnly(address), false, address);
    }
  });

  it('allows public unicast addresses', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111', '2a00:1450:4001::200e', '::ffff:8.8.8.8']) {
      assert.equal(publicAddressesOnly(address), true, address);
    }
  });
});

describe('redirect URIs', () => {
  it('registration accepts https, loopback http and private-use schemes only', () => {
    for (const ok of ['https://claude.ai/api/mcp/auth_callback', 'http://127.0.0.1:8080/cb', 'http://localhost/cb', 'http://[::1]:3/cb', 'cursor://anysphere/oauth']) {
      assert.equal(redirectUriProblem(ok), undefined, ok);
    }
    for (const bad of ['http://example.com/cb', 'https://x.example/cb#f', 'javascript:alert(1)', 'data:text/html,x', 'https://u:p@x.example/', 'relative/path', 'file:///etc/passwd']) {
      assert.notEqual(redirectUriProblem(bad), undefined, bad);
    }
  });

  it('match exactly, except that a loopback redirect URI may use any port', () => {
    const registered = ['https://app.example/cb', 'http://127.0.0.1/callback', 'http://localhost:3000/cb?x=1'];
    assert.equal(redirectUriMatches(registered, 'https://app.example/cb'), true);
    assert.equal(redirectUriMatches(registered, 'https://app.example/cb/'), false);
    assert.equal(redirectUriMatches(registered, 'https://app.example/cb?extra=1'), false);
    assert.equal(redirectUriMatches(registered, 'https://app.example:8443/cb'), false);
    assert.equal(redirectUriMatches(registered, 'http://127.0.0.1:51234/callback'), true);
    assert.equal(redirectUriMatches(registered, 'http://127.0.0.1:51234/other'), false);
    assert.equal(redirectUriMatches(registered, 'http://localhost:9999/cb?x=1'), true);
    assert.equal(redirectUriMatches(registered, 'http://localhost:9999/cb?x=2'), false);
    assert.equal(redirectUriMatches(registered, 'http://127.0.0.1.evil.example/callback'), false);
  });

  it('form-action sources cover the redirect target and nothing wider', () => {
    assert.equal(cspSourceFor('https://claude.ai/api/mcp/auth_callback'), 'https://claude.ai');
    assert.equal(cspSourceFor('http://127.0.0.1:5000/cb'), 'http://127.0.0.1:*');
    assert.equal(cspSourceFor('cursor://anysphere/oauth'), 'cursor:');
  });
});

describe('resource indicators (RFC 8707)', () => {
  const endpoints = oauthEndpoints('https://mcp.example.com');
  it('accept our /mcp, case-insensitive scheme and host, one trailing slash', () => {
    for (const ok of ['https://mcp.example.com/mcp', 'HTTPS://MCP.EXAMPLE.COM/mcp', 'https://mcp.example.com:443/mcp', 'https://mcp.example.com/mcp/']) {
      assert.equal(isOurResource(endpoints, ok), true, ok);
    }
  });
  it('refuse anything else', () => {
    for (const bad of ['https://mcp.example.com', 'https://mcp.example.com/', 'https://mcp.example.com/MCP', 'https://mcp.example.com/mcp?x=1', 'https://mcp.example.com/mcp#f', 'http://mcp.example.com/mcp', 'https://evil.example/mcp', 'mcp', '']) {
      assert.equal(isOurResource(endpoints, bad), false, bad);
    }
  });
});

describe('client metadata document URLs', () => {
  it('need https, a path, and no fragment, credentials or dot segments', () => {
    assert.equal(metadataUrlProblem('https://app.example/oauth/client.json'), undefined);
    assert.equal(metadataUrlProblem('https://app.example:8443/c?v=1'), undefined);
    assert.match(metadataUrlProblem('https://app.example') ?? '', /path/);
    assert.match(metadataUrlProblem('https://app.example/') ?? '', /path/);
    assert.match(metadataUrlProblem('https://app.example/c.json#x') ?? '', /fragment/);
    assert.match(metadataUrlProblem('https://u:p@app.example/c.json') ?? '', /credentials/);
    assert.match(metadataUrlProblem('https://app.example/a/../c.json') ?? '', /dot segments/);
    assert.match(metadataUrlProblem('https://app.example/a/%2e%2e/c.json') ?? '', /dot segments/);
  });
});

describe('scopes and PKCE', () => {
  it('unknown requested scopes are ignored; none left means the default', () => {
    assert.deepEqual(requestedScopes(undefined), ['tools:read', 'tools:write']);
    assert.deepEqual(requestedScopes('offline_access openid'), ['tools:read', 'tools:write']);
    assert.deepEqual(requestedScopes('tools:read offline_access tools:read'), ['tools:read']);
  });
  it('S256 verification (RFC 7636 appendix B vector)', () => {
    assert.equal(pkceMatches('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'), true);
    assert.equal(pkceMatches('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'), false);
  });
});
