import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createClientMetadataResolver, type ClientMetadataFetchOptions } from '../../src/oauth-server/client-metadata-documents.js';
import { selfSignedCertificate } from './support.js';

/** What the test document server answers for one path. */
interface Answer {
  status?: number;
  type?: string;
  headers?: Record<string, string>;
  body: (clientId: string) => string;
}

describe('Client ID Metadata Documents are fetched safely and validated', () => {
  const tls = selfSignedCertificate();
  let server: Server;
  let base = '';
  const fetches = new Map<string, number>();
  const doc = (extra: Record<string, unknown> = {}) => (clientId: string) =>
    JSON.stringify({ client_id: clientId, client_name: 'Doc', redirect_uris: ['https://app.example/cb'], ...extra });
  const answers: Record<string, Answer> = {
    '/good.json': { headers: { 'cache-control': 'public, max-age=600' }, body: doc() },
    '/nostore.json': { headers: { 'cache-control': 'no-store' }, body: doc() },
    '/mismatch.json': { body: () => JSON.stringify({ client_id: 'https://elsewhere.example/c.json', redirect_uris: ['https://app.example/cb'] }) },
    '/large.json': { body: doc({ padding: 'x'.repeat(6000) }) },
    '/redirect.json': { status: 302, headers: { location: '/good.json' }, body: () => '' },
    '/html.json': { type: 'text/html', body: doc() },
    '/missing.json': { status: 404, body: () => '{}' },
    '/no-uris.json': { body: (id) => JSON.stringify({ client_id: id }) },
    '/secret.json': { body: doc({ client_secret: 'shh' }) },
    '/jwt.json': { body: doc({ token_endpoint_auth_method: 'private_key_jwt' }) },
    '/bad-uri.json': { body: doc({ redirect_uris: ['http://evil.example/cb'] }) },
    '/not-json.json': { body: () => '{nope' },
  };
  const trusted: ClientMetadataFetchOptions = { addressPolicy: (a) => a === '127.0.0.1', ca: tls.cert };

  before(async () => {
    server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      const path = req.url ?? '/';
      fetches.set(path, (fetches.get(path) ?? 0) + 1);
      const answer = answers[path];
      if (!answer) return void res.writeHead(404).end();
      res.writeHead(answer.status ?? 200, { 'content-type': answer.type ?? 'application/json', ...answer.headers }).end(answer.body(`${base}${path}`));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('a valid document becomes a public client and is cached per its max-age', async () => {
    const resolver = createClientMetadataResolver(trusted);
    const client = await resolver.resolve(`${base}/good.json`);
    assert.deepEqual(client, { clientId: `${base}/good.json`, clientName: 'Doc', redirectUris: ['https://app.example/cb'], grantTypes: ['authorization_code', 'refresh_token'] });
    await resolver.resolve(`${base}/good.json`);
    await Promise.all([resolver.resolve(`${base}/nostore.json`), resolver.resolve(`${base}/nostore.json`)]);
    await resolver.resolve(`${base}/nostore.json`);
    assert.equal(fetches.get('/good.json'), 1, 'cached');
    assert.equal(fetches.get('/nostore.json'), 2, 'no-store: concurrent requests share one fetch, the next one fetches again');
  });

  it('refuses documents that break the rules, without following redirects', async () => {
    const resolver = createClientMetadataResolver(trusted);
    const cases: Array<[string, RegExp]> = [
      ['/mismatch.json', /different client_id/],
      ['/large.json', /larger than 5120 bytes/],
      ['/redirect.json', /HTTP 302/],
      ['/html.json', /not served as JSON/],
      ['/missing.json', /HTTP 404/],
      ['/no-uris.json', /redirect_uris/],
      ['/secret.json', /client_secret/],
      ['/jwt.json', /only "none" is supported/],
      ['/bad-uri.json', /must use https/],
      ['/not-json.json', /not valid JSON/],
    ];
    for (const [path, message] of cases) {
      await assert.rejects(resolver.resolve(`${base}${path}`), message, path);
    }
    assert.equal(fetches.get('/good.json'), 1, 'the redirect was not followed');
  });

  it('refuses a certificate it does not trust, and a host with any address outside the policy', async () => {
    const untrusting = createClientMetadataResolver({ addressPolicy: (a) => a === '127.0.0.1' });
    await assert.rejects(untrusting.resolve(`${base}/good.json`), /could not be fetched/);
    // localhost resolves to 127.0.0.1 and ::1; every address must pass, so one allowed is not enough.
    const port = new URL(base).port;
    const partial = createClientMetadataResolver({ addressPolicy: (a) => a === '127.0.0.1', ca: tls.cert });
    const { lookup } = await import('node:dns/promises');
    const addresses = await lookup('localhost', { all: true });
    if (addresses.some((a) => a.address !== '127.0.0.1')) {
      await assert.rejects(partial.resolve(`https://localhost:${port}/good.json`), /does not fetch from/);
    }
    const production = createClientMetadataResolver({ ca: tls.cert });
    const before = fetches.get('/good.json');
    await assert.rejects(production.resolve(`${base}/good.json`), /does not fetch from/);
    assert.equal(fetches.get('/good.json'), before, 'no connection was made');
  });
});
