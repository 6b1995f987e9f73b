import { listUsers } from '../../users/user-store.js';
import { table, parseOptions, type AdminCommand } from './command.js';

export const listUsersCommand: AdminCommand = {
  name: 'users',
  summary: 'List users with their number of working keys',
  usage: '',
  async run(ctx, args) {
    parseOptions(args, {});
    const users = await listUsers(ctx.pool);
    const rows = users.map((u) => [u.id, u.name ?? '-', u.createdAt.toISOString(), u.disabledAt ? `disabled ${u.disabledAt.toISOString()}` : 'active', String(u.liveKeys)]);
    for (const line of table(['USER', 'NAME', 'CREATED', 'STATE', 'KEYS'], rows)) ctx.out(line);
    return 0;
  },
};
