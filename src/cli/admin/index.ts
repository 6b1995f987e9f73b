import type { AdminCommand } from './command.js';
import { createKeyCommand } from './create-key.js';
import { listKeysCommand } from './list-keys.js';
import { listUsersCommand } from './list-users.js';
import { reencryptCommand } from './reencrypt.js';
import { revokeKeyCommand } from './revoke-key.js';
import { disableUserCommand, enableUserCommand } from './set-user-state.js';
import { usageCommand } from './usage.js';

/** Every admin command, in the order `help` lists them. A new command is one file plus one line here. */
export const ADMIN_COMMANDS: readonly AdminCommand[] = [
  listUsersCommand,
  listKeysCommand,
  createKeyCommand,
  revokeKeyCommand,
  disableUserCommand,
  enableUserCommand,
  usageCommand,
  reencryptCommand,
];
