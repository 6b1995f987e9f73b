import { listKeysForOperator } from '../../keys/key-store.js';
import { parseOptions, requireUuid, table, type AdminCommand } from './command.js';

export const listKeysCommand: AdminCommand = {
  name: 'keys',
  summary: 'List API keys (all users, or one) with state, scopes and limits; never secrets',
  usage: '[--user <user id>]',
  async run(ctx, args) {
    const { values } = parseOptions(args, { user: { type: 'string' } });
    const userId = values.user === undefined ? null : requireUuid(values.user, '--user');
    const keys = await listKeysForOperator(ctx.pool, userId);
    const limit = (n: number | null) => (n === null ? 'default' : String(n));
    const rows = keys.map((k) => [
      k.id,
      k.prefix,
      k.userId,
      k.name ?? '-',
      k.state,
      k.scopes.join(','),
      `${limit(k.rateLimit.perMinute)}/min ${limit(k.rateLimit.perHour)}/h`,
      k.lastUsedAt?.toISOString() ?? '-',
      k.expiresAt?.toISOString() ?? '-',
    ]);
    for (const line of table(['KEY', 'PREFIX', 'USER', 'NAME', 'STATE', 'SCOPES', 'LIMITS', 'LAST USED', 'EXPIRES'], rows)) ctx.out(line);
    return 0;
  },
};
