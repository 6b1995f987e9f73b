import { scrubSecret } from '../connections/credentials.js';
import { UnknownKeyError } from '../crypto/cipher.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import type { Logger } from '../log.js';

/**
 * What a tool result says about a failure no branch of the call foresaw, for REST tools and remote
 * MCP tools alike. A network failure names its code (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET …),
 * which helps the user and says nothing about this server; a stored secret under an encryption key
 * this instance lacks is the operator's to fix and must be loud (its message names only the key
 * id). Anything else is our own failure (a query, a bug): its message may hold SQL or internal
 * addresses, so it goes to the log, with its stack, and the result says only where it failed.
 */
export function unexpectedFailureText(providerName: string, err: unknown, secret: string | undefined, log: Logger, context: Record<string, unknown>): string {
  const raw = err instanceof Error ? err.message : String(err);
  const message = secret ? scrubSecret(raw, secret) : raw;
  if (isDatabaseUnavailable(err)) {
    log.warn({ ...context, err: message }, 'tool call failed: database unavailable');
    return 'The service is temporarily unavailable (its database cannot be reached). Try again in a few seconds.';
  }
  if (err instanceof UnknownKeyError) {
    log.error({ ...context, err: message }, 'tool call failed: a stored secret is under an unknown encryption key');
    return `${providerName} could not be called: ${message}`;
  }
  if (networkCode(err)) {
    log.warn({ ...context, err: message }, 'tool call failed');
    return `${providerName} could not be reached: ${message}`;
  }
  log.error({ ...context, err: message, stack: err instanceof Error ? err.stack : undefined }, 'tool call failed unexpectedly');
  return `The call to ${providerName} failed inside this server. Try again; if it keeps failing, tell the server's operator.`;
}

/** The system or undici error code of a failed request (on the error or its cause), if it is one. */
function networkCode(err: unknown): string | undefined {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  const code = e?.cause?.code ?? e?.code;
  return typeof code === 'string' && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code) ? code : undefined;
}
