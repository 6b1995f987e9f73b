import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadProviders, parseProviders, ProvidersFileError } from '../../src/providers/load.js';
import type { ApiKeyProviderDefinition, OAuth2ProviderDefinition } from '../../src/providers/schema.js';

const ENV = { ACME_CLIENT_ID: 'acme-client', ACME_CLIENT_SECRET: 'acme-secret' };

/** A minimal valid OAuth provider, as an operator would write it; `overrides` replace fields. */
function acme(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 'acme',
    name: 'Acme',
    auth: 'oauth2',
    authorization_url: 'https://acme.example/authorize',
    token_url: 'https://acme.example/token',
    client_id: '${ACME_CLIENT_ID}',
    client_secret: '${ACME_CLIENT_SECRET}',
    api_base_url: 'https://api.acme.example',
    tools: [
      { name: 'whoami', description: 'Who am I', method: 'GET', path: '/me' },
      {
        name: 'get_item',
        description: 'Get an item',
        method: 'GET',
        path: '/items/{id}',
        params: { id: { type: 'string', in: 'path', required: true }, q: { type: 'string', in: 'query' } },
      },
    ],
    ...overrides,
  };
}

/** Runs `fn` expecting a ProvidersFileError and returns it. */
function providersErrorFrom(fn: () => unknown): ProvidersFileError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ProvidersFileError, `expected a ProvidersFileError, got ${String(err)}`);
    return err;
  }
  assert.fail('the providers configuration was accepted');
}

async function rejectsWithProvidersError(promise: Promise<unknown>): Promise<ProvidersFileError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ProvidersFileError, `expected a ProvidersFileError, got ${String(err)}`);
    return err;
  }
  assert.fail('the providers file was accepted');
}

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'providers-load-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a valid OAuth provider parses with pkce on, HTTP Basic client auth and no scopes by default', () => {
  const [provider, ...rest] = parseProviders({ providers: [acme()] }, ENV);
  assert.equal(rest.length, 0);
  assert.ok(provider && provider.auth === 'oauth2');
  const oauth: OAuth2ProviderDefinition = provider;
  assert.equal(oauth.pkce, true);
  assert.equal(oauth.token_auth, 'client_secret_basic');
  assert.deepEqual(oauth.scopes, []);
  assert.deepEqual(oauth.authorization_params, {});
  assert.equal(oauth.tools.length, 2);
  assert.deepEqual(oauth.tools[0]?.params, {}, 'a tool without params has none');
  assert.equal(oauth.tools[1]?.params.q?.required, false, 'params are optional unless marked required');
});

test('${VAR} placeholders are filled from the environment, also inside longer strings', () => {
  const [provider] = parseProviders(
    { providers: [acme({ api_base_url: 'https://${ACME_HOST}/v1', authorization_params: { audience: 'aud-${ACME_CLIENT_ID}' } })] },
    { ...ENV, ACME_HOST: 'api.acme.example' },
  );
  assert.ok(provider && provider.auth === 'oauth2');
  assert.equal(provider.client_id, 'acme-client');
  assert.equal(provider.client_secret, 'acme-secret');
  assert.equal(provider.api_base_url, 'https://api.acme.example/v1');
  assert.deepEqual(provider.authorization_params, { audience: 'aud-acme-client' });
});

test('a referenced environment variable that is missing or empty is reported by name', () => {
  const missing = providersErrorFrom(() => parseProviders({ providers: [acme()] }, { ACME_CLIENT_ID: 'x' }));
  assert.match(missing.message, /ACME_CLIENT_SECRET/);
  assert.doesNotMatch(missing.message, /environment variable ACME_CLIENT_ID/, 'only the missing one is named');
  const empty = providersErrorFrom(() => parseProviders({ providers: [acme()] }, { ACME_CLIENT_ID: '', ACME_CLIENT_SECRET: 's' }));
  assert.match(empty.message, /ACME_CLIENT_ID/);
});

test('several problems are reported together, located by provider id and tool name', () => {
  const err = providersErrorFrom(() =>
    parseProviders(
      {
        providers: [
          acme({
            token_url: 'not a url',
            tools: [{ name: 'get_item', description: 'Get', method: 'FETCH', path: '/items' }],
          }),
        ],
      },
      { ACME_CLIENT_ID: 'c' },
    ),
  );
  assert.ok(err.problems.length >= 3, `got ${JSON.stringify(err.problems)}`);
  assert.ok(err.problems.some((p) => p.includes('ACME_CLIENT_SECRET')));
  assert.ok(err.problems.some((p) => p.startsWith('providers[0] (acme).token_url')), JSON.stringify(err.problems));
  assert.ok(err.problems.some((p) => p.startsWith('providers[0] (acme).tools[0] (get_item).method')), JSON.stringify(err.problems));
  for (const problem of err.problems) assert.ok(err.message.includes(problem), 'the message lists every problem');
});

test('the error names the file it came from', () => {
  const err = providersErrorFrom(() => parseProviders({ providers: [acme({ token_url: 'x' })] }, ENV, '/etc/proxy/providers.json'));
  assert.equal(err.source, '/etc/proxy/providers.json');
  assert.match(err.message, /\/etc\/proxy\/providers\.json/);
});

test('unknown keys are rejected, so a typo cannot silently weaken a setting', () => {
  const typo = providersErrorFrom(() => parseProviders({ providers: [acme({ pcke: false })] }, ENV));
  assert.ok(typo.problems.some((p) => p.includes('providers[0] (acme)') && p.includes('pcke')), JSON.stringify(typo.problems));

  const inTool = providersErrorFrom(() =>
    parseProviders({ providers: [acme({ tools: [{ name: 't', description: 'd', method: 'GET', path: '/x', headers: {} }] })] }, ENV),
  );
  assert.ok(inTool.problems.some((p) => p.includes('tools[0] (t)') && p.includes('headers')), JSON.stringify(inTool.problems));

  const inParam = providersErrorFrom(() =>
    parseProviders(
      { providers: [acme({ tools: [{ name: 't', description: 'd', method: 'GET', path: '/x', params: { q: { type: 'string', in: 'query', requred: true } } }] })] },
      ENV,
    ),
  );
  assert.ok(inParam.problems.some((p) => p.includes('requred')), JSON.stringify(inParam.problems));

  const topLevel = providersErrorFrom(() => parseProviders({ providers: [acme()], provider: [] }, ENV));
  assert.ok(topLevel.problems.some((p) => p.includes('"provider"')), JSON.stringify(topLevel.problems));
});

test('a provider id that is not lower-case URL-safe is rejected', () => {
  for (const id of ['Acme!', 'Acme', 'ac me', 'acme/x', '']) {
    const err = providersErrorFrom(() => parseProviders({ providers: [acme({ id })] }, ENV));
    assert.ok(err.problems.some((p) => p.includes('.id:')), `${id}: ${JSON.stringify(err.problems)}`);
  }
});

test('a path placeholder without a matching "in": "path" param is rejected, and so is an unused path param', () => {
  const noParam = providersErrorFrom(() =>
    parseProviders({ providers: [acme({ tools: [{ name: 'get_item', description: 'd', method: 'GET', path: '/items/{id}' }] })] }, ENV),
  );
  assert.ok(noParam.problems.some((p) => p.startsWith('providers[0] (acme).tools[0] (get_item).path') && p.includes('{id}')), JSON.stringify(noParam.problems));

  const queryParam = providersErrorFrom(() =>
    parseProviders(
      { providers: [acme({ tools: [{ name: 'get_item', description: 'd', method: 'GET', path: '/items/{id}', params: { id: { type: 'string', in: 'query', required: true } } }] })] },
      ENV,
    ),
  );
  assert.ok(queryParam.problems.some((p) => p.includes('{id}')), 'a query param does not satisfy a path placeholder');

  const unused = providersErrorFrom(() =>
    parseProviders(
      { providers: [acme({ tools: [{ name: 'list', description: 'd', method: 'GET', path: '/items', params: { id: { type: 'string', in: 'path', required: true } } }] })] },
      ENV,
    ),
  );
  assert.ok(unused.problems.some((p) => p.includes('"id" does not appear in the path')), JSON.stringify(unused.problems));

  const optional = providersErrorFrom(() =>
    parseProviders(
      { providers: [acme({ tools: [{ name: 'get', description: 'd', method: 'GET', path: '/items/{id}', params: { id: { type: 'string', in: 'path' } } }] })] },
      ENV,
    ),
  );
  assert.ok(optional.problems.some((p) => p.includes('must be required')), JSON.stringify(optional.problems));
});

test('two providers with the same id are rejected', () => {
  const err = providersErrorFrom(() =>
    parseProviders({ providers: [acme(), acme({ name: 'Acme again', tools: [] })] }, ENV),
  );
  assert.ok(err.problems.some((p) => p.includes('"acme"') && p.includes('twice')), JSON.stringify(err.problems));
});

test(
  'a duplicate provider id is reported together with the other problems of the file',
  () => {
    const err = providersErrorFrom(() => parseProviders({ providers: [acme(), acme({ token_url: 'nope' })] }, ENV));
    assert.ok(err.problems.some((p) => p.includes('token_url')), JSON.stringify(err.problems));
    assert.ok(err.problems.some((p) => p.includes('"acme"') && p.includes('twice')), JSON.stringify(err.problems));
  },
);

test('an api_key provider with a header template parses', () => {
  const [provider] = parseProviders(
    {
      providers: [
        {
          id: 'hitl',
          name: 'HITL',
          auth: 'api_key',
          api_key: { header: 'Authorization', template: 'Bearer {key}' },
          validate: { method: 'GET', path: '/me' },
          fallback_key: '${HITL_API_KEY}',
          api_base_url: 'https://api.hitl.sh/v1',
          tools: [{ name: 'hitl_me', description: 'Me', method: 'GET', path: '/me' }],
        },
      ],
    },
    { HITL_API_KEY: 'fallback-123' },
  );
  assert.ok(provider && provider.auth === 'api_key');
  const apiKey: ApiKeyProviderDefinition = provider;
  assert.deepEqual(apiKey.api_key, { header: 'Authorization', template: 'Bearer {key}' });
  assert.deepEqual(apiKey.validate, { method: 'GET', path: '/me' });
  assert.equal(apiKey.fallback_key, 'fallback-123');
});

test('an api_key provider with a query parameter parses, and a header without a template defaults to the bare key', () => {
  const [byQuery, byHeader] = parseProviders(
    {
      providers: [
        { id: 'q', name: 'Q', auth: 'api_key', api_key: { query: 'api_key' }, api_base_url: 'https://q.example' },
        { id: 'h', name: 'H', auth: 'api_key', api_key: { header: 'X-Api-Key' }, api_base_url: 'https://h.example' },
      ],
    },
    {},
  );
  assert.ok(byQuery && byQuery.auth === 'api_key');
  assert.deepEqual(byQuery.api_key, { query: 'api_key' });
  assert.equal(byQuery.validate, undefined);
  assert.ok(byHeader && byHeader.auth === 'api_key');
  assert.deepEqual(byHeader.api_key, { header: 'X-Api-Key', template: '{key}' });
});

test('an api_key template without {key} is rejected', () => {
  const err = providersErrorFrom(() =>
    parseProviders({ providers: [{ id: 'h', name: 'H', auth: 'api_key', api_key: { header: 'Authorization', template: 'Bearer' }, api_base_url: 'https://h.example' }] }, {}),
  );
  assert.ok(err.problems.some((p) => p.startsWith('providers[0] (h).api_key')), JSON.stringify(err.problems));
});

test('a YAML providers file loads, with placeholders filled', async () => {
  const file = path.join(dir, 'providers.yaml');
  await writeFile(
    file,
    [
      'providers:',
      '  - id: acme',
      '    name: Acme',
      '    auth: oauth2',
      '    authorization_url: https://acme.example/authorize',
      '    token_url: https://acme.example/token',
      '    client_id: ${ACME_CLIENT_ID}',
      '    api_base_url: https://api.acme.example',
      '    scopes: [read, write]',
      '    tools:',
      '      - name: whoami',
      '        description: Who am I',
      '        method: GET',
      '        path: /me',
      '',
    ].join('\n'),
  );
  const providers = await loadProviders(file, ENV);
  assert.equal(providers.length, 1);
  const [provider] = providers;
  assert.ok(provider && provider.auth === 'oauth2');
  assert.equal(provider.client_id, 'acme-client');
  assert.deepEqual(provider.scopes, ['read', 'write']);
  assert.equal(provider.tools[0]?.name, 'whoami');

  const yml = path.join(dir, 'providers.yml');
  await writeFile(yml, 'providers: []\n');
  assert.deepEqual(await loadProviders(yml, ENV), []);
});

test('a JSON providers file loads', async () => {
  const file = path.join(dir, 'providers.json');
  await writeFile(file, JSON.stringify({ providers: [acme()] }, null, 2));
  const providers = await loadProviders(file, ENV);
  assert.deepEqual(
    providers.map((p) => p.id),
    ['acme'],
  );
});

test('an unreadable, missing or malformed providers file is reported with its path', async () => {
  const missingFile = path.join(dir, 'does-not-exist.json');
  const missing = await rejectsWithProvidersError(loadProviders(missingFile, ENV));
  assert.match(missing.message, /does-not-exist\.json/);
  assert.match(missing.message, /ENOENT/);

  const directory = await rejectsWithProvidersError(loadProviders(dir, ENV));
  assert.match(directory.message, /cannot read/);

  const badJson = path.join(dir, 'broken.json');
  await writeFile(badJson, '{ "providers": [ ');
  const jsonErr = await rejectsWithProvidersError(loadProviders(badJson, ENV));
  assert.match(jsonErr.message, /not valid JSON/);
  assert.match(jsonErr.message, /broken\.json/);

  const badYaml = path.join(dir, 'broken.yaml');
  await writeFile(badYaml, 'providers:\n  - id: [unclosed\n');
  const yamlErr = await rejectsWithProvidersError(loadProviders(badYaml, ENV));
  assert.match(yamlErr.message, /not valid YAML/);

  const invalid = path.join(dir, 'invalid.json');
  await writeFile(invalid, JSON.stringify({ providers: [acme({ token_url: 'nope' })] }));
  const invalidErr = await rejectsWithProvidersError(loadProviders(invalid, ENV));
  assert.ok(invalidErr.problems.some((p) => p.startsWith('providers[0] (acme).token_url')));
});

test('without a providers file, no providers are configured unless the OwnerRez credentials are set', async () => {
  assert.deepEqual(await loadProviders(undefined, {}), []);
  assert.deepEqual(await loadProviders(undefined, { OWNERREZ_CLIENT_ID: 'id-only' }), []);
  assert.deepEqual(await loadProviders(undefined, { OWNERREZ_CLIENT_SECRET: 'secret-only' }), []);
  assert.deepEqual(await loadProviders(undefined, { OWNERREZ_CLIENT_ID: '', OWNERREZ_CLIENT_SECRET: '' }), []);
});

test('without a providers file, setting the OwnerRez credentials enables the OwnerRez preset', async () => {
  const providers = await loadProviders(undefined, { OWNERREZ_CLIENT_ID: 'c_123', OWNERREZ_CLIENT_SECRET: 's_456' });
  assert.equal(providers.length, 1);
  const [ownerrez] = providers;
  assert.ok(ownerrez && ownerrez.auth === 'oauth2');
  assert.equal(ownerrez.id, 'ownerrez');
  assert.equal(ownerrez.client_id, 'c_123');
  assert.equal(ownerrez.client_secret, 's_456');
  assert.ok(ownerrez.tools.length > 0, 'the preset brings its tools');
});
