import type { z } from 'zod';
import { InvalidRequestError } from '../../errors.js';

/** Parses a request part with a strict zod schema; the first problems become one clear 400. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what = 'request body'): T {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 5).map((issue) => {
    const where = issue.path.length ? issue.path.join('.') : what;
    return `${where}: ${issue.message}`;
  });
  throw new InvalidRequestError(`Invalid ${what}: ${problems.join('; ')}`);
}
