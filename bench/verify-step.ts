/**
 * The authentication step alone, for `npm run bench:idp`: a warm `sk_` key through the key
 * service and a warm IdP JWT through the IdP token verifier, the same objects the app builds, in
 * this process. Measured as CPU time per verification (not wall time), alternating in blocks, so
 * other processes on a shared machine move it far less than they move requests per second.
 */
import { loadConfig } from '../src/config.js';
import type { Pool } from '../src/db/pool.js';
import { connectIdp } from '../src/idp/idp.js';
import { createIdpTokenVerifier } from '../src/idp/token-verifier.js';
import { createKeyService } from '../src/keys/key-service.js';
import { createLogger } from '../src/log.js';

export interface VerifyStep {
  name: string;
  /** CPU (user + system) per verification, median block, in nanoseconds. */
  cpuNsPerVerify: number;
}

const BLOCKS = 5;
const PER_BLOCK = 50_000;
export const VERIFICATIONS_PER_STEP = BLOCKS * PER_BLOCK;

export async function measureVerifySteps(input: { pool: Pool; publicUrl: string; issuer: string; apiKey: string; jwt: string }): Promise<VerifyStep[]> {
  const keys = createKeyService(input.pool);
  const settings = loadConfig({ IDP_ISSUER: input.issuer, PUBLIC_URL: input.publicUrl }).idp;
  if (!settings) throw new Error('IDP_ISSUER did not configure an IdP');
  const idp = await connectIdp(settings);
  const idpTokens = createIdpTokenVerifier({ pool: input.pool, ...idp, resource: `${input.publicUrl}/mcp`, log: createLogger('silent') });
  const steps: Array<[string, () => Promise<unknown>]> = [
    ['verify a warm sk_ key', () => keys.verify(input.apiKey)],
    ['verify a warm IdP JWT', () => idpTokens.verify(input.jwt)],
  ];
  for (const [name, verify] of steps) if (!(await verify())) throw new Error(`${name}: refused`);
  const blocks: number[][] = steps.map(() => []);
  for (let block = 0; block < BLOCKS; block++) {
    for (const [i, [, verify]] of steps.entries()) {
      const before = process.cpuUsage();
      for (let n = 0; n < PER_BLOCK; n++) await verify();
      const used = process.cpuUsage(before);
      blocks[i]?.push(((used.user + used.system) * 1000) / PER_BLOCK);
    }
  }
  return steps.map(([name], i) => {
    const sorted = [...(blocks[i] ?? [])].sort((a, b) => a - b);
    return { name, cpuNsPerVerify: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0) };
  });
}
