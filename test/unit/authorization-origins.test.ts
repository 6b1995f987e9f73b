import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorizationOrigins } from '../../src/providers/authorization-origins.js';
import { createRegistry } from '../../src/providers/registry.js';
import { parseProviders } from '../../src/providers/load.js';
import type { ProviderDefinition } from '../../src/providers/schema.js';

const providers = (): ProviderDefinition[] =>
  parseProviders({
    providers: [
      {
        id: 'acme', name: 'Acme', auth: 'oauth2', client_id: 'c', client_secret: 's', authorization_url: 'https://acme.example/oauth/authorize', token_url: 'https://acme.example/oauth/token',
        api_base_url: 'https://api.acme.example', tools: [{ name: 'acme_me', description: 'Me', method: 'GET', path: '/me' }],
      },
      { id: 'remote', name: 'Remote', auth: 'oauth2', mcp_url: 'https://mcp.vendor.example/mcp' },
    ],
  }, {});

/** The origins a page's CSP form-action lists: remote MCP servers' authorization servers are learned at run time. */
describe('authorizationOrigins', () => {
  it('names the authorization server a remote MCP server was discovered to use, on another origin', async () => {
    const registry = createRegistry(providers());
    registry.setPreparer(async (p) => (p.auth === 'oauth2' ? { ...p, authorization_url: 'https://login.vendor.example/authorize' } : p));
    assert.deepEqual(await authorizationOrigins(registry), ['https://acme.example', 'https://login.vendor.example']);
    // Sign-in pages never offer a remote MCP server, so they need only the sign-in providers.
    assert.deepEqual(await authorizationOrigins(registry, 'sign-in'), ['https://acme.example']);
  });

  it('falls back to the mcp_url origin when discovery fails or hangs, without failing the page', async () => {
    const failing = createRegistry(providers());
    failing.setPreparer(async () => {
      throw new Error('upstream down');
    });
    assert.deepEqual(await authorizationOrigins(failing), ['https://acme.example', 'https://mcp.vendor.example']);

    const hanging = createRegistry(providers());
    hanging.setPreparer(() => new Promise(() => {}));
    assert.deepEqual(await authorizationOrigins(hanging), ['https://acme.example', 'https://mcp.vendor.example']);
  });
});
