import path from 'node:path';
import { z } from 'zod';
import { parseIdpSettings, type IdpSettings } from './idp/settings.js';
import { parseTrustProxy, type TrustProxy } from './http/trust-proxy.js';
import { DEFAULT_LIMITS } from './limits/settings.js';
import { DEFAULT_UPSTREAM_LIMITS } from './outbound/limits.js';
import { RETENTION_DEFAULTS, type Retention } from './retention.js';

/**
 * Every environment variable the service reads, parsed once at boot (STYLE §1).
 * Nothing else in the program touches `process.env`.
 */
const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection string').optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  ENCRYPTION_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be base64 of exactly 32 bytes (openssl rand -base64 32)')
    .optional(),
  ENCRYPTION_KEYS: z
    .string()
    .transform((v, ctx) => parseKeyList(v, ctx))
    .optional(),
  PROVIDERS_FILE: z.string().min(1).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KEY_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(DEFAULT_LIMITS.keyPerMinute),
  KEY_RATE_LIMIT_PER_HOUR: z.coerce.number().int().min(1).default(DEFAULT_LIMITS.keyPerHour),
  TOOL_CALL_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(600_000).default(DEFAULT_UPSTREAM_LIMITS.callTimeoutMs),
  TOOL_CALLS_IN_FLIGHT_PER_USER: z.coerce.number().int().min(1).default(DEFAULT_LIMITS.toolCallsInFlightPerUser),
  TOOL_CALLS_IN_FLIGHT_PER_KEY: z.coerce.number().int().min(1).default(DEFAULT_LIMITS.toolCallsInFlightPerKey),
  DEMO: z.enum(['true', 'false'], { message: 'must be true or false' }).optional(),
  IDP_ISSUER: z.url({ protocol: /^https?$/ }).optional(),
  IDP_AUDIENCE: z.string().min(1).optional(),
  IDP_CLIENT_ID: z.string().min(1).optional(),
  IDP_CLIENT_SECRET: z.string().min(1).optional(),
  IDP_NAME: z.string().min(1).max(60).optional(),
  IDP_SCOPE_MAP: z.string().min(1).optional(),
  IDP_INTROSPECTION_URL: z.url({ protocol: /^https?$/ }).optional(),
  TRUST_PROXY: z
    .string()
    .transform((v, ctx) => parseTrustProxy(v, ctx))
    .prefault('loopback'),
  RETENTION_USAGE_DAYS: z.coerce.number().int().min(0).default(RETENTION_DEFAULTS.usageDays),
  RETENTION_AUDIT_DAYS: z.coerce.number().int().min(0).default(RETENTION_DEFAULTS.auditDays),
  RETENTION_EXPIRED_HOURS: z.coerce.number().int().min(0).default(RETENTION_DEFAULTS.expiredHours),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // A bearer secret: long enough that guessing it is hopeless.
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (openssl rand -base64 24)').optional(),
});

/** One entry of ENCRYPTION_KEYS. The id is the operator's label; ciphertexts name keys by fingerprint. */
export interface EncryptionKey {
  readonly id: string;
  readonly key: Buffer;
}

/** `id:base64key,…` → keys, with every malformed entry reported. */
function parseKeyList(value: string, ctx: z.RefinementCtx): EncryptionKey[] {
  const keys: EncryptionKey[] = [];
  for (const [i, entry] of value.split(',').map((e) => e.trim()).entries()) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    const key = Buffer.from(entry.slice(colon + 1), 'base64');
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(id)) ctx.addIssue({ code: 'custom', message: `entry ${i + 1} must be id:base64key with an id of letters, digits, _ . -` });
    else if (key.length !== 32) ctx.addIssue({ code: 'custom', message: `key "${id}" must be base64 of exactly 32 bytes (openssl rand -base64 32)` });
    else if (keys.some((k) => k.id === id)) ctx.addIssue({ code: 'custom', message: `key id "${id}" appears twice` });
    else keys.push({ id, key });
  }
  return keys;
}

export interface Config {
  readonly env: 'development' | 'production' | 'test';
  readonly port: number;
  readonly host: string;
  /** External base URL without a trailing slash; redirect URIs and metadata derive from it. */
  readonly publicUrl: string;
  readonly databaseUrl: string | undefined;
  /** Absolute path; holds the embedded database and the development encryption key. */
  readonly dataDir: string;
  /** The key new ciphertexts are written with (32 raw bytes), or undefined when a development key must be generated. */
  readonly encryptionKey: Buffer | undefined;
  /**
   * Every configured key, the one that encrypts first: ENCRYPTION_KEYS in order, then
   * ENCRYPTION_KEY when it is not among them (so it keeps decrypting during a rotation).
   */
  readonly encryptionKeys: readonly EncryptionKey[];
  readonly providersFile: string | undefined;
  readonly logLevel: string;
  /** Default per-key request limits (a key's own overrides win). */
  readonly keyRateLimit: { readonly perMinute: number; readonly perHour: number };
  /** One deadline for a whole tool call, and the caps on calls in flight per user and per key, per upstream. */
  readonly toolCalls: { readonly timeoutMs: number; readonly inFlightPerUser: number; readonly inFlightPerKey: number };
  /** DEMO=true / DEMO=false; undefined: the built-in demo upstream decides for itself (demo/demo-provider.ts). */
  readonly demo: boolean | undefined;
  /** The organisation's identity provider (IDP_*), or undefined when IDP_ISSUER is unset. */
  readonly idp: IdpSettings | undefined;
  /** Which peers may set X-Forwarded-For (express's `trust proxy` forms). */
  readonly trustProxy: TrustProxy;
  /** How long housekeeping keeps usage rows, audit events and expired OAuth artefacts. */
  readonly retention: Retention;
  /** Serve GET /metrics on this port (no authentication: keep it private), or undefined. */
  readonly metricsPort: number | undefined;
  /** Serve GET /metrics on the main port to `Authorization: Bearer <token>`, or undefined. */
  readonly metricsToken: string | undefined;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment; throws ConfigError listing every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings are how shells and compose files say "unset".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  const problems: string[] = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  if (cleaned.NODE_ENV === 'production' && !cleaned.ENCRYPTION_KEY && !cleaned.ENCRYPTION_KEYS) {
    problems.push('ENCRYPTION_KEY: required when NODE_ENV=production, or ENCRYPTION_KEYS (generate a key with `openssl rand -base64 32`)');
  }
  const idp = parsed.success ? idpSettings(parsed.data, problems) : undefined;
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);

  const e = parsed.data;
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  const single = e.ENCRYPTION_KEY ? Buffer.from(e.ENCRYPTION_KEY, 'base64') : undefined;
  const listed = e.ENCRYPTION_KEYS ?? [];
  const encryptionKeys = Object.freeze([
    ...listed,
    ...(single && !listed.some((k) => k.key.equals(single)) ? [{ id: 'ENCRYPTION_KEY', key: single }] : []),
  ]);
  return Object.freeze({
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl,
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.DATA_DIR),
    encryptionKey: encryptionKeys[0]?.key,
    encryptionKeys,
    providersFile: e.PROVIDERS_FILE ? path.resolve(e.PROVIDERS_FILE) : undefined,
    logLevel: e.LOG_LEVEL,
    keyRateLimit: Object.freeze({ perMinute: e.KEY_RATE_LIMIT_PER_MINUTE, perHour: e.KEY_RATE_LIMIT_PER_HOUR }),
    toolCalls: Object.freeze({
      timeoutMs: e.TOOL_CALL_TIMEOUT_MS,
      inFlightPerUser: e.TOOL_CALLS_IN_FLIGHT_PER_USER,
      inFlightPerKey: e.TOOL_CALLS_IN_FLIGHT_PER_KEY,
    }),
    demo: e.DEMO === undefined ? undefined : e.DEMO === 'true',
    idp,
    trustProxy: e.TRUST_PROXY,
    retention: Object.freeze({ usageDays: e.RETENTION_USAGE_DAYS, auditDays: e.RETENTION_AUDIT_DAYS, expiredHours: e.RETENTION_EXPIRED_HOURS }),
    metricsPort: e.METRICS_PORT,
    metricsToken: e.METRICS_TOKEN,
  });
}

/** The IDP_* variables, checked together: each half-configured combination is named. */
function idpSettings(e: z.infer<typeof EnvSchema>, problems: string[]): IdpSettings | undefined {
  const publicUrl = (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return parseIdpSettings(
    {
      issuer: e.IDP_ISSUER,
      audience: e.IDP_AUDIENCE,
      clientId: e.IDP_CLIENT_ID,
      clientSecret: e.IDP_CLIENT_SECRET,
      name: e.IDP_NAME,
      scopeMap: e.IDP_SCOPE_MAP,
      introspectionUrl: e.IDP_INTROSPECTION_URL,
    },
    publicUrl,
    problems,
  );
}
