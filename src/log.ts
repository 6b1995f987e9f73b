import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear. Tokens and keys must never reach a log line
 * (CONTRACT "Storage"); the code also never passes them to the logger, and this list is
 * the second line of defence if someone logs a request or a token response by mistake.
 */
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  '*.access_token',
  '*.refresh_token',
  '*.id_token',
  '*.api_key',
  '*.client_secret',
  '*.code_verifier',
  '*.password',
  'access_token',
  'refresh_token',
  'api_key',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { level, redact: { paths: REDACT, censor: '[redacted]' }, base: { service: 'mcp-oauth-proxy' } },
    destination,
  );
}
