import { createKeyService } from '../../keys/key-service.js';
import { parseKey } from '../../keys/key-format.js';
import { findKeyIdByPublicId } from '../../keys/key-store.js';
import { NO_ACTOR } from '../../auth/actor.js';
import { revokeKeyOf } from '../../keys/manage-keys.js';
import { NotFoundError } from '../../errors.js';
import { parseOptions, UsageError, UUID, type AdminCommand } from './command.js';

/** Accepts a key id, a display prefix (`sk_<public id>`) or a whole key pasted from a leak report. */
async function keyIdFrom(ctx: Parameters<AdminCommand['run']>[0], value: string): Promise<string | undefined> {
  if (UUID.test(value)) return value.toLowerCase();
  const publicId = /^sk_([0-9A-Za-z]{12})$/.exec(value)?.[1] ?? parseKey(value)?.publicId;
  if (!publicId) throw new UsageError(`"${value}" is neither a key id nor a key prefix (sk_…)`);
  return findKeyIdByPublicId(ctx.pool, publicId);
}

export const revokeKeyCommand: AdminCommand = {
  name: 'revoke-key',
  summary: 'Revoke an API key by id or prefix; servers refuse it within 5 s',
  usage: '<key id | sk_prefix>',
  async run(ctx, args) {
    const { positionals } = parseOptions(args, {}, true);
    if (positionals.length !== 1) throw new UsageError('give exactly one key id or prefix');
    const keyId = await keyIdFrom(ctx, positionals[0] as string);
    try {
      if (!keyId) throw new NotFoundError('no such key');
      const revoked = await revokeKeyOf({ pool: ctx.pool, keys: createKeyService(ctx.pool) }, null, keyId, 'admin-cli', NO_ACTOR);
      ctx.out(`Revoked ${revoked.prefix} (${revoked.id}) of user ${revoked.userId}.`);
      return 0;
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      ctx.out(`No working key ${positionals[0]} (unknown, already revoked or expired).`);
      return 1;
    }
  },
};
