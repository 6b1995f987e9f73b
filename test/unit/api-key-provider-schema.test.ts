import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseProviders, ProvidersFileError } from '../../src/providers/load.js';

const base = { id: 'hitl', name: 'HITL', auth: 'api_key', api_base_url: 'https://api.hitl.example/v1' };

function problemsOf(provider: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseProviders({ providers: [{ ...base, ...provider }] }, env);
    return [];
  } catch (err) {
    if (err instanceof ProvidersFileError) return err.problems;
    throw err;
  }
}

test('the contract’s api_key provider parses, with the fallback read from the environment', () => {
  const [provider] = parseProviders(
    {
      providers: [
        {
          ...base,
          api_key: { header: 'Authorization', template: 'Bearer {key}' },
          validate: { method: 'GET', path: '/me' },
          fallback_key: '${HITL_API_KEY}',
          tools: [],
        },
      ],
    },
    { HITL_API_KEY: 'ops-key' },
  );
  assert.equal(provider?.auth, 'api_key');
  assert.equal(provider?.auth === 'api_key' && provider.fallback_key, 'ops-key');
  const [query] = parseProviders({ providers: [{ ...base, api_key: { query: 'api_key' } }] }, {});
  assert.deepEqual(query?.auth === 'api_key' && query.api_key, { query: 'api_key' });
});

test('a missing fallback variable is a start-up error that names it', () => {
  const problems = problemsOf({ api_key: { query: 'k' }, fallback_key: '${HITL_API_KEY}' });
  assert.equal(problems[0], 'environment variable HITL_API_KEY is referenced but not set');
});

test('mistakes that would only show on the first call are start-up errors', () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ api_key: { header: 'X API Key' } }, /api_key.*header name/],
    [{ api_key: { header: 'Authorization', template: 'Bearer' } }, /api_key/],
    [{ api_key: { query: 'a b' } }, /api_key/],
    [{ api_key: { header: 'X-Key', query: 'k' } }, /api_key/],
    [{ api_key: { query: 'k' }, validate: { path: '/me?fields=id' } }, /validate\.path/],
    [{ api_key: { query: 'k' }, validate: { path: '/users/{id}' } }, /validate\.path/],
    [{ api_key: { query: 'k' }, validate: { method: 'DELETE', path: '/me' } }, /validate\.method/],
    [{ api_key: { query: 'k' }, fallback_key: '' }, /fallback_key/],
  ];
  for (const [provider, expected] of cases) {
    const problems = problemsOf(provider);
    assert.ok(problems.some((p) => expected.test(p)), `${JSON.stringify(provider)} → ${JSON.stringify(problems)}`);
  }
});
