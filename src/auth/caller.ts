import type { Actor } from './actor.js';

/**
 * Who is calling: resolved from their key or token before any MCP message (or API body) is
 * read. It is also the audit actor of whatever the call causes (address, user agent, key prefix).
 */
export interface Caller extends Actor {
  readonly userId: string;
  readonly scopes: readonly string[];
  readonly keyPrefix: string;
}
