/**
 * The benchmark's upstream in a process of its own: the same real OAuth server + REST API the
 * tests use. Prints its endpoints as one JSON line, then serves until SIGTERM.
 * argv[2]: JSON array of redirect URIs to register.
 */
import { startUpstream } from '../test/support/upstream.js';

const redirectUris = JSON.parse(process.argv[2] ?? '[]') as string[];
const upstream = await startUpstream({ redirectUris });
const { issuer, authorizationUrl, tokenUrl, revocationUrl, apiBaseUrl, clientId, clientSecret } = upstream;
process.stdout.write(`${JSON.stringify({ issuer, authorizationUrl, tokenUrl, revocationUrl, apiBaseUrl, clientId, clientSecret })}\n`);
process.on('SIGTERM', () => {
  void upstream.close().then(() => process.exit(0));
});
