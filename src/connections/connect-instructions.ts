import type { ApiKeyProviderDefinition } from '../providers/schema.js';

/**
 * What a tool result tells a user whose account is not connected (or needs reconnecting). Most
 * people read it in Claude Desktop or ChatGPT, with a browser at hand and no curl: the dashboard
 * comes first, the API route second for scripts.
 */
export function connectInstructions(publicUrl: string, providerId: string): string {
  return `Open ${dashboardConnections(publicUrl)} in your browser and connect it there. From a script: GET ${publicUrl}/api/connect/${providerId}/start with your API key, then open the authorization_url it returns.`;
}

/** How a user sets (or replaces) their key for an API-key upstream; used wherever a call needs one. */
export function setKeyInstructions(publicUrl: string, provider: ApiKeyProviderDefinition): string {
  return `enter it on ${dashboardConnections(publicUrl)} in your browser, or send PUT ${publicUrl}/api/connect/${provider.id}/key with the JSON body {"api_key": "<your ${provider.name} API key>"}, authenticated with your API key for this server`;
}

/** The dashboard's connections section (a signed-out browser is sent to the start page first). */
function dashboardConnections(publicUrl: string): string {
  return `${publicUrl}/dashboard#connections`;
}
