import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { createCipher, type Cipher } from './cipher.js';
import { loadOrCreateDevKey } from './dev-key.js';

/**
 * The cipher the configuration describes: the first of ENCRYPTION_KEYS (or ENCRYPTION_KEY)
 * encrypts, all of them decrypt; with none configured (never in production) the development key.
 * The server and `npm run admin -- reencrypt` both build theirs here, so they agree.
 */
export async function configuredCipher(config: Pick<Config, 'encryptionKeys' | 'dataDir'>, log: Logger): Promise<Cipher> {
  const [first, ...rest] = config.encryptionKeys;
  if (!first) return createCipher(await loadOrCreateDevKey(config.dataDir, log));
  return createCipher(first.key, rest.map((k) => k.key));
}
