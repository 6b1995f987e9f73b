import { parseProviders } from '../providers/load.js';
import type { OAuth2ProviderDefinition } from '../providers/schema.js';

/**
 * The built-in demo upstream as a provider: the same entry an operator would write in a providers
 * file (docs/providers.md), pointing at this process's own /demo/ routes. It is parsed by the
 * same schema as every other provider, so the demo exercises exactly the code a real one does.
 */

export const DEMO_PROVIDER_ID = 'demo';
/** A public client (no secret): the demo's codes are protected by PKCE, as a native app's are. */
export const DEMO_CLIENT_ID = 'mcp-oauth-proxy-demo';
export const DEMO_SCOPES = ['notes:read', 'notes:write'] as const;

/**
 * `publicUrl` is where browsers reach the login page; `internalUrl` is where this process reaches
 * itself for token and API requests (main.ts passes the loopback listen address, so a PUBLIC_URL
 * behind a proxy or a TLS terminator is never needed for talking to ourselves).
 */
export function demoProviderEntry(publicUrl: string, internalUrl: string = publicUrl): Record<string, unknown> {
  return {
    id: DEMO_PROVIDER_ID,
    name: 'Demo',
    auth: 'oauth2',
    authorization_url: `${publicUrl}/demo/authorize`,
    token_url: `${internalUrl}/demo/token`,
    revocation_url: `${internalUrl}/demo/revoke`,
    scopes: [...DEMO_SCOPES],
    pkce: true,
    client_id: DEMO_CLIENT_ID,
    token_auth: 'client_secret_post',
    account_id_field: 'account',
    api_base_url: `${internalUrl}/demo/api`,
    tools: [
      { name: 'demo_whoami', description: 'Which demo account this user connected, and how many notes it holds.', method: 'GET', path: '/me' },
      { name: 'demo_list_notes', description: 'List the notes of the connected demo account.', method: 'GET', path: '/notes' },
      {
        name: 'demo_get_note',
        description: 'Read one note of the connected demo account.',
        method: 'GET',
        path: '/notes/{id}',
        params: { id: { type: 'string', in: 'path', required: true, description: 'The note id, from demo_list_notes' } },
      },
      {
        name: 'demo_add_note',
        description: 'Add a note to the connected demo account.',
        method: 'POST',
        path: '/notes',
        params: { text: { type: 'string', in: 'body', required: true, description: 'The note, up to 1000 characters' } },
      },
      {
        name: 'demo_delete_note',
        description: 'Delete one note of the connected demo account.',
        method: 'DELETE',
        path: '/notes/{id}',
        params: { id: { type: 'string', in: 'path', required: true, description: 'The note id, from demo_list_notes' } },
      },
    ],
  };
}

/** Whether the demo runs, and the sentence the start-up log says about it. */
export interface DemoDecision {
  enabled: boolean;
  reason: string;
}

/**
 * On by default only where it cannot surprise anybody: nothing is configured and this is not
 * production. `DEMO=true` asks for it anyway (a showcase instance, next to real providers);
 * `DEMO=false` never serves it.
 */
export function decideDemo(setting: boolean | undefined, env: 'development' | 'production' | 'test', configuredProviders: number): DemoDecision {
  if (setting === false) return { enabled: false, reason: 'demo upstream off (DEMO=false)' };
  if (setting === true) return { enabled: true, reason: 'demo upstream on (DEMO=true): provider "demo" is served under /demo/' };
  if (configuredProviders > 0) {
    return { enabled: false, reason: `demo upstream off: ${configuredProviders} provider(s) configured (DEMO=true serves it as well)` };
  }
  if (env === 'production') return { enabled: false, reason: 'demo upstream off in NODE_ENV=production (DEMO=true turns it on)' };
  return {
    enabled: true,
    reason: 'no providers configured, so the built-in demo upstream is on: provider "demo" is served under /demo/ (any name logs in; DEMO=false turns it off, configuring a provider replaces it)',
  };
}

/** The demo provider, parsed by the providers-file schema like any other, and marked as the demo. */
export function demoProvider(publicUrl: string, internalUrl: string = publicUrl): OAuth2ProviderDefinition {
  const [parsed] = parseProviders({ providers: [demoProviderEntry(publicUrl, internalUrl)] }, {}, 'demo upstream');
  if (parsed?.auth !== 'oauth2') throw new Error('the demo provider must be an OAuth 2 provider');
  return { ...parsed, demo: true };
}

/**
 * Where this process reaches itself: the listen address, with a wildcard or loopback name read
 * as 127.0.0.1 (so a PUBLIC_URL behind a proxy or TLS terminator is never needed for it).
 */
export function selfUrl(host: string, port: number): string {
  if (['0.0.0.0', '::', '127.0.0.1', 'localhost', '::1'].includes(host)) return `http://127.0.0.1:${port}`;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}
