import { isScope, type Scope } from '../keys/scopes.js';

/**
 * The organisation's identity provider, as the operator configured it (CONTRACT "Identity
 * provider"). Resource-server mode needs only the issuer; login mode adds a client.
 */
export interface IdpSettings {
  /** IDP_ISSUER exactly as configured (compared byte for byte with `iss` and the metadata's `issuer`). */
  readonly issuer: string;
  /** Accepted `aud` values of access tokens: IDP_AUDIENCE, default `${PUBLIC_URL}/mcp`. */
  readonly audience: string;
  /** IDP_CLIENT_ID / IDP_CLIENT_SECRET: login mode, and the credentials of RFC 7662 introspection. */
  readonly client: { readonly id: string; readonly secret: string } | undefined;
  /** What the sign-in button says (IDP_NAME; default: the issuer's host). */
  readonly name: string;
  /**
   * IDP_SCOPE_MAP: IdP scope → this server's scopes. Empty means the IdP's tokens carry this
   * server's scope names themselves.
   */
  readonly scopeMap: ReadonlyMap<string, readonly Scope[]>;
  /** IDP_INTROSPECTION_URL, overriding the metadata's `introspection_endpoint`. */
  readonly introspectionUrl: string | undefined;
}

export interface RawIdpSettings {
  issuer: string | undefined;
  audience: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  name: string | undefined;
  scopeMap: string | undefined;
  introspectionUrl: string | undefined;
}

/** Checks the IDP_* variables together; every problem is pushed onto `problems`, naming its variable. */
export function parseIdpSettings(raw: RawIdpSettings, publicUrl: string, problems: string[]): IdpSettings | undefined {
  const others = (['audience', 'clientId', 'clientSecret', 'name', 'scopeMap', 'introspectionUrl'] as const).filter((k) => raw[k] !== undefined);
  if (raw.issuer === undefined) {
    if (others.length > 0) problems.push('IDP_ISSUER: required when any other IDP_* variable is set');
    return undefined;
  }
  if ((raw.clientId === undefined) !== (raw.clientSecret === undefined)) {
    problems.push(raw.clientId === undefined ? 'IDP_CLIENT_ID: required with IDP_CLIENT_SECRET' : 'IDP_CLIENT_SECRET: required with IDP_CLIENT_ID');
  }
  const scopeMap = parseScopeMap(raw.scopeMap ?? '', problems);
  return Object.freeze({
    issuer: raw.issuer,
    audience: raw.audience ?? `${publicUrl}/mcp`,
    client: raw.clientId !== undefined && raw.clientSecret !== undefined ? Object.freeze({ id: raw.clientId, secret: raw.clientSecret }) : undefined,
    name: raw.name ?? new URL(raw.issuer).host,
    scopeMap,
    introspectionUrl: raw.introspectionUrl,
  });
}

/**
 * `idp-scope=ours[+ours…],…`, e.g. `mcp.read=tools:read,mcp.admin=tools:write+connections+keys`.
 * Operators whose IdP cannot mint scopes with a colon (some cannot) map their own names.
 */
function parseScopeMap(text: string, problems: string[]): ReadonlyMap<string, readonly Scope[]> {
  const map = new Map<string, readonly Scope[]>();
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const [from, to, extra] = entry.split('=').map((part) => part.trim());
    const ours = (to ?? '').split('+').map((s) => s.trim()).filter(Boolean);
    const unknown = ours.filter((s) => !isScope(s));
    if (!from || ours.length === 0 || extra !== undefined || unknown.length > 0) {
      problems.push(`IDP_SCOPE_MAP: "${entry}" must be idp-scope=scope[+scope…] with scopes among tools:read, tools:write, connections, keys`);
      continue;
    }
    map.set(from, ours as Scope[]);
  }
  return map;
}
