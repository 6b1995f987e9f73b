import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Pool } from '../db/pool.js';
import { findDemoAccessToken, type DemoGrant } from './demo-store.js';
import { addNote, deleteNote, findNote, listNotes, MAX_NOTE_LENGTH, MAX_NOTES_PER_ACCOUNT, MAX_NOTES_TOTAL } from './notes-store.js';

const json = express.json({ limit: '16kb' });

/**
 * The demo API under /demo/api: who the token's account is, and that account's notes. It answers
 * the way a small REST API does (Bearer tokens, 401 with WWW-Authenticate, JSON errors), so the
 * proxy's tool calls, refresh and revocation are seen doing their real work.
 */
export function demoApiRouter(deps: { pool: Pool }): Router {
  const router = Router();
  const bearer = bearerAuth(deps.pool);

  router.get('/demo/api/me', bearer, async (_req, res) => {
    const grant = grantOf(res);
    const notes = await listNotes(deps.pool, grant.account);
    res.json({ id: grant.account, login: grant.account, notes: notes.length, scopes: grant.scopes });
  });

  router.get('/demo/api/notes', bearer, needs('notes:read'), async (_req, res) => {
    res.json({ notes: await listNotes(deps.pool, grantOf(res).account) });
  });

  router.get('/demo/api/notes/:id', bearer, needs('notes:read'), async (req, res) => {
    const note = /^\d{1,18}$/.test(req.params.id as string) ? await findNote(deps.pool, grantOf(res).account, req.params.id as string) : undefined;
    if (note) res.json(note);
    else apiError(res, 404, 'not_found', 'No such note in this demo account.');
  });

  router.post('/demo/api/notes', bearer, needs('notes:write'), json, async (req, res) => {
    const text = (req.body as { text?: unknown } | undefined)?.text;
    if (typeof text !== 'string' || text.trim() === '' || text.length > MAX_NOTE_LENGTH) {
      apiError(res, 400, 'invalid_request', `text must be 1–${MAX_NOTE_LENGTH} characters.`);
      return;
    }
    const note = await addNote(deps.pool, grantOf(res).account, text);
    if (note) res.status(201).json(note);
    else apiError(res, 409, 'too_many_notes', `A demo account holds at most ${MAX_NOTES_PER_ACCOUNT} notes, and the demo at most ${MAX_NOTES_TOTAL}; delete some first.`);
  });

  router.delete('/demo/api/notes/:id', bearer, needs('notes:write'), async (req, res) => {
    const gone = /^\d{1,18}$/.test(req.params.id as string) && (await deleteNote(deps.pool, grantOf(res).account, req.params.id as string));
    if (gone) res.json({ deleted: req.params.id });
    else apiError(res, 404, 'not_found', 'No such note in this demo account.');
  });

  router.use('/demo/api', (_req, res) => apiError(res, 404, 'not_found', 'No such demo API route.'));
  return router;
}

function bearerAuth(pool: Pool) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const grant = token ? await findDemoAccessToken(pool, token) : undefined;
    if (!grant) {
      res.set('WWW-Authenticate', 'Bearer realm="demo", error="invalid_token"');
      apiError(res, 401, 'invalid_token', 'The access token is missing, expired or revoked.');
      return;
    }
    res.locals.demoGrant = grant;
    next();
  };
}

function needs(scope: string) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    if (grantOf(res).scopes.includes(scope)) next();
    else apiError(res, 403, 'insufficient_scope', `This token lacks the ${scope} scope.`);
  };
}

function grantOf(res: Response): DemoGrant {
  return res.locals.demoGrant as DemoGrant;
}

function apiError(res: Response, status: number, error: string, description: string): void {
  res.status(status).json({ error, error_description: description });
}
