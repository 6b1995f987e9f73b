import express, { type Request } from 'express';

/** Form bodies of the web page: small, flat, urlencoded. */
export const parseForm = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });

/** One text field of a posted form ('' when absent or repeated). */
export function field(req: Request, name: string): string {
  const value = ((req.body ?? {}) as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : '';
}

/** A field that may repeat (checkboxes). */
export function fieldList(req: Request, name: string): string[] {
  const value = ((req.body ?? {}) as Record<string, unknown>)[name];
  if (typeof value === 'string') return [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}
