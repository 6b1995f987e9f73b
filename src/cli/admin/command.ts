import type { Pool } from '../../db/pool.js';

/**
 * One `npm run admin <name>` command. Declared here until the admin CLI lands; the shape is the
 * one it dispatches on.
 */
export interface AdminCommand {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Argument synopsis, e.g. `[--from YYYY-MM-DD] [--user <id>]`. */
  usage: string;
  /** Returns the process exit code (0 success, 2 bad arguments). */
  run(ctx: AdminContext, args: string[]): Promise<number>;
}

export interface AdminContext {
  pool: Pool;
  out(line: string): void;
}
