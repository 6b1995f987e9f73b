import { withTransaction } from '../../db/pool.js';
import { createKeyService } from '../../keys/key-service.js';
import { NO_ACTOR } from '../../auth/actor.js';
import { mintKeyFor } from '../../keys/manage-keys.js';
import { ALL_SCOPES, isScope, type Scope } from '../../keys/scopes.js';
import { parseOptions, positiveInt, requireUuid, UsageError, type AdminCommand } from './command.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `3600`, `90m`, `12h` or `30d` → seconds. */
function duration(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)([smhd]?)$/.exec(value);
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1) : NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 60) throw new UsageError('--expires-in must be at least 60 seconds, e.g. 3600, 90m, 12h or 30d');
  return seconds;
}

/**
 * Creates a key for any user, e.g. for a shared connector. Unlike POST /api/keys, limits are not
 * capped by another key: the operator may set any.
 */
export const createKeyCommand: AdminCommand = {
  name: 'create-key',
  summary: 'Create an API key for a user (printed once)',
  usage: '--user <user id> [--name <text>] [--scopes tools:read,tools:write,connections,keys] [--per-minute <n>] [--per-hour <n>] [--expires-in <3600|90m|12h|30d>]',
  async run(ctx, args) {
    const { values } = parseOptions(args, {
      user: { type: 'string' },
      name: { type: 'string' },
      scopes: { type: 'string' },
      'per-minute': { type: 'string' },
      'per-hour': { type: 'string' },
      'expires-in': { type: 'string' },
    });
    const userId = requireUuid(values.user, '--user');
    const name = values.name?.trim() || null;
    if (name && name.length > 100) throw new UsageError('--name must be at most 100 characters');
    let scopes: Scope[] = [...ALL_SCOPES];
    if (values.scopes !== undefined) {
      const listed = values.scopes.split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = listed.filter((s) => !isScope(s));
      if (listed.length === 0 || unknown.length > 0) throw new UsageError(`--scopes: unknown scope(s) ${unknown.join(', ') || '(none given)'}; use ${ALL_SCOPES.join(', ')}`);
      scopes = [...new Set(listed as Scope[])];
    }
    const rateLimit = { perMinute: positiveInt(values['per-minute'], '--per-minute') ?? null, perHour: positiveInt(values['per-hour'], '--per-hour') ?? null };
    const expiresIn = duration(values['expires-in']);
    const expiresAt = expiresIn === undefined ? null : new Date(Date.now() + expiresIn * 1000);

    const { rows } = await ctx.pool.query<{ disabled: boolean }>('SELECT disabled_at IS NOT NULL AS disabled FROM users WHERE id = $1', [userId]);
    if (!rows[0]) {
      ctx.out(`No user ${userId}.`);
      return 1;
    }
    const keys = createKeyService(ctx.pool);
    const { apiKey, record } = await withTransaction(ctx.pool, (tx) => mintKeyFor(tx, keys, { userId, name, scopes, expiresAt, rateLimit, via: 'admin-cli' }, NO_ACTOR));
    ctx.out(`api_key: ${apiKey}`);
    ctx.out(`id: ${record.id}`);
    ctx.out(`prefix: ${record.prefix}`);
    ctx.out(`scopes: ${record.scopes.join(',')}`);
    ctx.out(`rate_limit: ${rateLimit.perMinute ?? 'default'}/min, ${rateLimit.perHour ?? 'default'}/h`);
    ctx.out(`expires_at: ${record.expiresAt?.toISOString() ?? 'never'}`);
    if (rows[0].disabled) ctx.out('warning: this user is disabled, so the key will not work until the user is enabled again');
    ctx.out('Store the key now: it is shown only once.');
    return 0;
  },
};
