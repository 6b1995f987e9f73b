import express, { type Request, type RequestHandler } from 'express';
import { containsNul } from '../db/nul.js';
import { InvalidRequestError } from '../errors.js';

/** Form bodies of the web page: small, flat, urlencoded, and no NUL in any field. */
export const parseForm: RequestHandler = (() => {
  const urlencoded = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 50 });
  const noNul: RequestHandler = (req, _res, next) => next(containsNul(req.body) ? new InvalidRequestError('Text fields must not contain NUL characters (U+0000).') : undefined);
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
