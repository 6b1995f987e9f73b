import { parseArgs } from 'node:util';
import { AppError } from '../../errors.js';
import { resolveDayRange, utcDay } from '../../usage/days.js';
import { usageReport, type UsageReportLine } from '../../usage/usage-store.js';
import type { AdminCommand } from './command.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const SYNOPSIS = '[--from YYYY-MM-DD] [--to YYYY-MM-DD] [--user <user id>] [--provider <id>] [--json]';

const HELP = `npm run admin -- usage ${SYNOPSIS}

Tool calls per day, user, provider and tool (UTC days, both ends included; default the last 30 days).
Counts reach the database within a few seconds of a call (each instance writes them in batches).
  --json   one JSON object per line instead of a table`;

/** `usage`: every user's tool calls, for operators (users see their own with GET /api/usage). */
export const usageCommand: AdminCommand = {
  name: 'usage',
  summary: 'tool calls per day, user, provider and tool',
  usage: SYNOPSIS,
  async run(ctx, args) {
    let values;
    try {
      ({ values } = parseArgs({
        args,
        options: {
          from: { type: 'string' },
          to: { type: 'string' },
          user: { type: 'string' },
          provider: { type: 'string' },
          json: { type: 'boolean', default: false },
          help: { type: 'boolean', short: 'h', default: false },
        },
        strict: true,
        allowPositionals: false,
      }));
    } catch (err) {
      ctx.out(`${(err as Error).message}\n\n${HELP}`);
      return 2;
    }
    if (values.help) {
      ctx.out(HELP);
      return 0;
    }
    if (values.user !== undefined && !UUID.test(values.user)) {
      ctx.out(`--user must be a user id (a UUID).\n\n${HELP}`);
      return 2;
    }
    let range;
    try {
      range = resolveDayRange({ from: values.from, to: values.to }, utcDay(new Date()));
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      ctx.out(`${err.description}\n\n${HELP}`);
      return 2;
    }
    const lines = await usageReport(ctx.pool, { ...range, userId: values.user, providerId: values.provider });
    if (values.json) {
      for (const line of lines) ctx.out(JSON.stringify(line));
      return 0;
    }
    for (const row of table(lines)) ctx.out(row);
    const ok = lines.reduce((n, l) => n + l.ok, 0);
    const error = lines.reduce((n, l) => n + l.error, 0);
    const users = new Set(lines.map((l) => l.user_id)).size;
    ctx.out(`${range.from} to ${range.to}: ${ok + error} calls (${ok} ok, ${error} error) by ${users} ${users === 1 ? 'user' : 'users'}`);
    return 0;
  },
};

function table(lines: UsageReportLine[]): string[] {
  const header = ['day', 'user', 'name', 'provider', 'tool', 'ok', 'error'];
  const cells = lines.map((l) => [l.day, l.user_id, l.user_name ?? '', l.provider, l.tool, String(l.ok), String(l.error)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  // Counts are right-aligned so they line up by digit.
  const render = (c: string[]): string => c.map((v, i) => (i >= 5 ? v.padStart(widths[i] as number) : v.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [render(header), ...cells.map(render)];
}
