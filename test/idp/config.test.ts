import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';
import { connectIdp } from '../../src/idp/idp.js';
import { freePort } from '../support/own-postgres.js';

describe('IdP configuration: problems are start-up errors that name the variable', () => {
  it('half-configured IDP_* variables are refused, each named', () => {
    const problems = (env: Record<string, string>): string[] => {
      try {
        loadConfig(env);
      } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
      }
      return [];
    };
    assert.match(problems({ IDP_CLIENT_ID: 'c', IDP_CLIENT_SECRET: 's' }).join('\n'), /IDP_ISSUER: required/);
    assert.match(problems({ IDP_ISSUER: 'https://idp.example', IDP_CLIENT_ID: 'c' }).join('\n'), /IDP_CLIENT_SECRET: required/);
    assert.match(problems({ IDP_ISSUER: 'https://idp.example', IDP_SCOPE_MAP: 'mcp.read=tools:reed' }).join('\n'), /IDP_SCOPE_MAP/);
    assert.match(problems({ IDP_ISSUER: 'not a url' }).join('\n'), /IDP_ISSUER/);
    const ok = loadConfig({ IDP_ISSUER: 'https://idp.example/realms/acme', PUBLIC_URL: 'https://mcp.example', IDP_SCOPE_MAP: 'mcp.read=tools:read,mcp.all=tools:write+connections' });
    assert.equal(ok.idp?.audience, 'https://mcp.example/mcp');
    assert.equal(ok.idp?.name, 'idp.example');
    assert.deepEqual(ok.idp?.scopeMap.get('mcp.all'), ['tools:write', 'connections']);
  });

  it('an unreachable issuer, or metadata naming another issuer, stops the start with IDP_ISSUER named', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const settings = loadConfig({ IDP_ISSUER: nobody }).idp;
    assert.ok(settings);
    await assert.rejects(connectIdp(settings), /IDP_ISSUER: no usable issuer metadata/);

    const impostor = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: 'https://elsewhere.example', jwks_uri: 'https://elsewhere.example/jwks' })));
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    try {
      const issuer = `http://127.0.0.1:${(impostor.address() as AddressInfo).port}`;
      await assert.rejects(connectIdp(loadConfig({ IDP_ISSUER: issuer }).idp!), /IDP_ISSUER: the metadata at .* names the issuer "https:\/\/elsewhere\.example"/);
    } finally {
      impostor.closeAllConnections();
      await new Promise((resolve) => impostor.close(resolve));
    }
  });
});
