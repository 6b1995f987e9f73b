import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.js';

const GOOD_KEY = randomBytes(32).toString('base64');

/** Runs loadConfig expecting a ConfigError and returns it for further checks. */
function configErrorFor(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('loadConfig accepted a bad environment');
}

test('an empty environment starts with the documented defaults', () => {
  const config = loadConfig({});
  assert.equal(config.port, 3000);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.publicUrl, 'http://localhost:3000');
  assert.equal(config.dataDir, path.resolve('./.data'));
  assert.ok(path.isAbsolute(config.dataDir), 'the data dir is absolute');
  assert.equal(config.logLevel, 'info');
  assert.equal(config.env, 'development');
  assert.equal(config.databaseUrl, undefined, 'no DATABASE_URL means embedded PostgreSQL');
  assert.equal(config.encryptionKey, undefined, 'no key outside production means a dev key is generated');
  assert.equal(config.providersFile, undefined);
});

test('tool-call limits: one deadline per call and caps on calls in flight, from the environment or the defaults', () => {
  assert.deepEqual(loadConfig({}).toolCalls, { timeoutMs: 40_000, inFlightPerUser: 16, inFlightPerKey: 8 });
  const set = loadConfig({ TOOL_CALL_TIMEOUT_MS: '20000', TOOL_CALLS_IN_FLIGHT_PER_USER: '32', TOOL_CALLS_IN_FLIGHT_PER_KEY: '4' });
  assert.deepEqual(set.toolCalls, { timeoutMs: 20_000, inFlightPerUser: 32, inFlightPerKey: 4 });
  const problems = configErrorFor({ TOOL_CALL_TIMEOUT_MS: '10', TOOL_CALLS_IN_FLIGHT_PER_KEY: '0' }).problems.join('\n');
  assert.match(problems, /TOOL_CALL_TIMEOUT_MS/);
  assert.match(problems, /TOOL_CALLS_IN_FLIGHT_PER_KEY/);
});

test('PORT changes both the listen port and the default public URL', () => {
  const config = loadConfig({ PORT: '8080' });
  assert.equal(config.port, 8080);
  assert.equal(config.publicUrl, 'http://localhost:8080');
});

test('PUBLIC_URL is used as given, without its trailing slash', () => {
  assert.equal(loadConfig({ PUBLIC_URL: 'https://mcp.example.com/' }).publicUrl, 'https://mcp.example.com');
  assert.equal(loadConfig({ PUBLIC_URL: 'https://mcp.example.com//' }).publicUrl, 'https://mcp.example.com');
  assert.equal(loadConfig({ PUBLIC_URL: 'https://example.com/mcp-proxy/' }).publicUrl, 'https://example.com/mcp-proxy');
  assert.equal(loadConfig({ PUBLIC_URL: 'https://mcp.example.com', PORT: '8080' }).publicUrl, 'https://mcp.example.com', 'PORT does not override an explicit PUBLIC_URL');
});

test('the other variables are read into the config', () => {
  const key = randomBytes(32);
  const config = loadConfig({
    HOST: '127.0.0.1',
    DATABASE_URL: 'postgres://u:p@db:5432/proxy',
    DATA_DIR: '/var/lib/proxy',
    ENCRYPTION_KEY: key.toString('base64'),
    PROVIDERS_FILE: 'providers.yaml',
    LOG_LEVEL: 'debug',
    NODE_ENV: 'production',
  });
  assert.equal(config.host, '127.0.0.1');
  assert.equal(config.databaseUrl, 'postgres://u:p@db:5432/proxy');
  assert.equal(config.dataDir, '/var/lib/proxy');
  assert.deepEqual(config.encryptionKey, key);
  assert.equal(config.providersFile, path.resolve('providers.yaml'));
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.env, 'production');
});

test('production without ENCRYPTION_KEY refuses to start and names the variable', () => {
  const err = configErrorFor({ NODE_ENV: 'production' });
  assert.match(err.message, /ENCRYPTION_KEY/);
  assert.ok(err.problems.some((p) => p.startsWith('ENCRYPTION_KEY')));
  assert.equal(loadConfig({ NODE_ENV: 'production', ENCRYPTION_KEY: GOOD_KEY }).env, 'production');
});

test('an ENCRYPTION_KEY that is not 32 bytes is refused, naming the variable', () => {
  for (const bad of [randomBytes(16).toString('base64'), randomBytes(31).toString('base64'), randomBytes(33).toString('base64'), 'not-a-key']) {
    const err = configErrorFor({ ENCRYPTION_KEY: bad });
    assert.match(err.message, /ENCRYPTION_KEY/, `key ${bad}`);
  }
});

test('every problem in the environment is listed at once', () => {
  const err = configErrorFor({ PORT: 'eighty', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://db', PUBLIC_URL: 'ftp://x', ENCRYPTION_KEY: 'short' });
  for (const name of ['PORT', 'LOG_LEVEL', 'DATABASE_URL', 'PUBLIC_URL', 'ENCRYPTION_KEY']) {
    assert.ok(err.problems.some((p) => p.startsWith(name)), `${name} is listed in ${JSON.stringify(err.problems)}`);
    assert.match(err.message, new RegExp(name));
  }
});

test(
  'a missing production ENCRYPTION_KEY is listed alongside other problems',
  () => {
    const err = configErrorFor({ NODE_ENV: 'production', PORT: 'eighty' });
    assert.ok(err.problems.some((p) => p.startsWith('PORT')), 'PORT is listed');
    assert.ok(err.problems.some((p) => p.startsWith('ENCRYPTION_KEY')), `ENCRYPTION_KEY is listed in ${JSON.stringify(err.problems)}`);
  },
);

test('empty-string variables count as unset', () => {
  const config = loadConfig({ PORT: '', HOST: '', PUBLIC_URL: '', DATA_DIR: '', LOG_LEVEL: '', DATABASE_URL: '', ENCRYPTION_KEY: '', PROVIDERS_FILE: '', NODE_ENV: '' });
  assert.equal(config.port, 3000);
  assert.equal(config.host, '0.0.0.0');
  assert.equal(config.publicUrl, 'http://localhost:3000');
  assert.equal(config.dataDir, path.resolve('./.data'));
  assert.equal(config.logLevel, 'info');
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.encryptionKey, undefined);
  assert.equal(config.providersFile, undefined);
  const err = configErrorFor({ NODE_ENV: 'production', ENCRYPTION_KEY: '' });
  assert.match(err.message, /ENCRYPTION_KEY/, 'an empty key in production is a missing key');
});

test('the returned config is frozen', () => {
  const config = loadConfig({});
  assert.ok(Object.isFrozen(config));
  assert.throws(() => {
    (config as { port: number }).port = 1;
  }, TypeError);
  assert.equal(config.port, 3000);
});

test('an out-of-range or non-integer PORT is refused', () => {
  for (const port of ['-1', '65536', '80.5', 'http']) {
    assert.match(configErrorFor({ PORT: port }).message, /PORT/, `PORT=${port}`);
  }
});
