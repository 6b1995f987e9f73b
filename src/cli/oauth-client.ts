import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createPool } from '../db/pool.js';
import { parseClientMetadata, registerClient, registrationResponse } from '../oauth-server/client-registration.js';
import { AppError } from '../errors.js';

/**
 * `npm run oauth-client -- --name "Acme assistant" --redirect-uri https://… [--redirect-uri …] [--public]`
 *
 * Pre-registers an OAuth client (for an MCP client configured with a fixed client_id) in the
 * database at DATABASE_URL and prints its registration once, secret included.
 */
const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    'redirect-uri': { type: 'string', multiple: true },
    public: { type: 'boolean', default: false },
  },
});
const config = loadConfig();
if (!config.databaseUrl) {
  process.stderr.write('DATABASE_URL is not set.\n');
  process.exit(1);
}
const pool = createPool(config.databaseUrl, 1);
try {
  const metadata = parseClientMetadata({
    client_name: values.name,
    redirect_uris: values['redirect-uri'] ?? [],
    token_endpoint_auth_method: values.public ? 'none' : 'client_secret_basic',
  });
  const registered = await registerClient(pool, metadata, 'operator');
  process.stdout.write(`${JSON.stringify(registrationResponse(registered), null, 2)}\n`);
  if (registered.clientSecret) process.stderr.write('Store client_secret now: it is shown only once.\n');
} catch (err) {
  if (!(err instanceof AppError)) throw err;
  process.stderr.write(`${err.code}: ${err.description}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
