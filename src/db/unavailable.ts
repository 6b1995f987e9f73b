/**
 * Whether an error means "the database cannot be reached right now" (down, restarting, refusing
 * connections, a connection dropped mid-query) rather than a bug or a bad query. Such errors are
 * answered 503 / "temporarily unavailable": they are not the client's fault, retrying later
 * works, and their messages name internal addresses (`connect ECONNREFUSED 10.0.0.5:5432`).
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

export function isDatabaseUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    // SQLSTATE class 08 (connection exception) and 57P01–57P03 (admin/crash shutdown, cannot connect now).
    if (/^08/.test(code) || code === '57P01' || code === '57P02' || code === '57P03') return true;
  }
  // node-postgres reports a dropped or never-made connection without a code.
  return /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/.test(err.message);
}
