import { NO_ACTOR } from '../../auth/actor.js';
import { insertAuditEvent } from '../../audit/audit-store.js';
import { withTransaction } from '../../db/pool.js';
import { setUserDisabled } from '../../users/user-store.js';
import { parseOptions, requireUuid, UsageError, type AdminCommand } from './command.js';

/** disable-user and enable-user: the same statement, both directions audited. */
function userStateCommand(disable: boolean): AdminCommand {
  return {
    name: disable ? 'disable-user' : 'enable-user',
    summary: disable ? 'Disable a user: every key and IdP token of theirs stops working (within 5 s on running servers)' : 'Enable a disabled user again',
    usage: '<user id>',
    async run(ctx, args) {
      const { positionals } = parseOptions(args, {}, true);
      if (positionals.length !== 1) throw new UsageError('give exactly one user id');
      const userId = requireUuid(positionals[0], 'user id');
      const found = await withTransaction(ctx.pool, async (tx) => {
        if (!(await setUserDisabled(tx, userId, disable))) return false;
        await insertAuditEvent(tx, { userId, type: disable ? 'user.disabled' : 'user.enabled', detail: { via: 'admin-cli' }, actor: NO_ACTOR });
        return true;
      });
      ctx.out(found ? `User ${userId} is ${disable ? 'disabled' : 'enabled'}.` : `No user ${userId}.`);
      return found ? 0 : 1;
    },
  };
}

export const disableUserCommand = userStateCommand(true);
export const enableUserCommand = userStateCommand(false);
