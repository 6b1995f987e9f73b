import { Agent } from 'undici';

/**
 * The connection pools outbound requests share, one per kind of traffic, so that a slow kind
 * cannot take the sockets another needs.
 */

/**
 * Every REST tool call: connections are kept alive between calls (a TLS handshake per tool call
 * would dominate its cost) and bounded per upstream origin. The per-user and per-key caps on
 * calls in flight (limits/in-flight.ts) keep one user from taking all of them.
 */
export const upstreamApiAgent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 120_000, connections: 128 });

/**
 * Token, refresh and revocation requests. Not capped per origin (as global fetch was not): the
 * refresh cap (connections/refresh-slots.ts) bounds the refreshes, and a sign-in must not queue
 * behind a tool call's traffic.
 */
export const tokenEndpointAgent = new Agent({ keepAliveTimeout: 10_000, keepAliveMaxTimeout: 60_000 });
