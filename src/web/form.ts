import express, { type Request, type RequestHandler } from 'express';
import { rejectNulInBody } from '../http/middleware/reject-nul.js';

/** Form bodies of the web page: small, flat, urlencoded, and no NUL in any field. */
export const parseForm: RequestHandler = (() => {
  const urlencoded = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });
  const noNul = rejectNulInBody();
  return (req, res, next) => urlencoded(req, res, (err?: unknown) => (err ? next(err) : noNul(req, res, next)));
})();

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
