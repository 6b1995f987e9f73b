import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Cipher } from '../../crypto/cipher.js';
import type { Pool } from '../../db/pool.js';

/** What every admin command gets: the database and where to print. */
export interface AdminContext {
  pool: Pool;
  /** Prints one line to standard output. */
  out(line: string): void;
  /** The server's cipher (ENCRYPTION_KEYS / ENCRYPTION_KEY), built only for commands that need it. */
  cipher?: () => Promise<Cipher>;
}

/** One `npm run admin -- <name> …` command. Commands are listed in ./index.ts. */
export interface AdminCommand {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Argument synopsis, e.g. `--user <id> [--name <text>]`. */
  usage: string;
  /** Returns the process exit code: 0 done, 1 failed, 2 bad usage. */
  run(ctx: AdminContext, args: string[]): Promise<number>;
}

/** Bad arguments: admin.ts prints the message and the command's usage, and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** node:util parseArgs, strict, with its errors turned into UsageErrors. */
export function parseOptions<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A user id from the arguments, or a UsageError. */
export function requireUuid(value: string | undefined, what: string): string {
  if (value === undefined) throw new UsageError(`${what} is required`);
  if (!UUID.test(value)) throw new UsageError(`${what} must be a UUID, got "${value}"`);
  return value.toLowerCase();
}

/** A positive integer option, or undefined when absent. */
export function positiveInt(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) throw new UsageError(`${what} must be a positive integer`);
  return Number(value);
}

/** Rows as aligned columns (the last column is not padded). */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
