import express, { Router, type Response } from 'express';
import type { Pool } from '../db/pool.js';
import { PKCE_VALUE } from '../crypto/secrets.js';
import { DEMO_CLIENT_ID, DEMO_SCOPES } from './demo-provider.js';
import { insertDemoCode } from './demo-store.js';
import { demoErrorPage, demoLoginPage, type DemoAuthorizationParams } from './login-page.js';

const form = express.urlencoded({ extended: false, limit: '8kb' });

/** Demo account names: short and plain, so they read well in status, the dashboard and tool results. */
const LOGIN = /^[A-Za-z0-9._-]{1,40}$/;

export interface DemoAuthorizeDeps {
  pool: Pool;
  /** The one redirect URI the demo client has: this server's callback for provider `demo`. */
  redirectUri: string;
}

/**
 * GET /demo/authorize shows the login page; POST logs in as the typed name and sends the browser
 * back with a code (RFC 6749 §4.1). Only the demo client and its registered redirect URI are
 * served, and PKCE S256 is required, so a code is useless to anybody but the flow that asked.
 */
export function demoAuthorizeRouter(deps: DemoAuthorizeDeps): Router {
  const router = Router();

  router.get('/demo/authorize', (req, res) => {
    const params = validated(deps, req.query, res);
    if (params) send(res, 200, demoLoginPage(params));
  });

  router.post('/demo/authorize', form, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const params = validated(deps, body, res);
    if (!params) return;
    if (body.decision === 'deny') {
      res.redirect(303, backToClient(params, { error: 'access_denied', error_description: 'The demo login was denied.' }));
      return;
    }
    const login = typeof body.login === 'string' ? body.login.trim() : '';
    if (!LOGIN.test(login)) {
      send(res, 400, demoLoginPage(params, 'A demo account name is 1–40 letters, digits, dots, dashes or underscores.'));
      return;
    }
    const requested = params.scope.split(' ').filter(Boolean);
    const scopes = requested.length > 0 ? requested.filter((s) => (DEMO_SCOPES as readonly string[]).includes(s)) : [...DEMO_SCOPES];
    const code = await insertDemoCode(deps.pool, {
      account: login.toLowerCase(),
      clientId: params.client_id,
      redirectUri: params.redirect_uri,
      codeChallenge: params.code_challenge,
      scopes,
    });
    res.redirect(303, backToClient(params, { code }));
  });

  return router;
}

/**
 * The request's parameters, or undefined after answering. Client and redirect URI problems get a
 * page (never a redirect to an unchecked URI); the rest go back to the client as `error=`.
 */
function validated(deps: DemoAuthorizeDeps, source: unknown, res: Response): DemoAuthorizationParams | undefined {
  const raw = (source ?? {}) as Record<string, unknown>;
  const text = (name: string): string => (typeof raw[name] === 'string' ? (raw[name] as string) : '');
  const params: DemoAuthorizationParams = {
    client_id: text('client_id'),
    redirect_uri: text('redirect_uri'),
    state: text('state'),
    scope: text('scope'),
    code_challenge: text('code_challenge'),
    code_challenge_method: text('code_challenge_method'),
  };
  if (params.client_id !== DEMO_CLIENT_ID) {
    send(res, 400, demoErrorPage(`The demo only serves its own client (${DEMO_CLIENT_ID}).`));
    return undefined;
  }
  if (params.redirect_uri !== deps.redirectUri) {
    send(res, 400, demoErrorPage('The redirect_uri is not the one registered for the demo client.'));
    return undefined;
  }
  const fail = (description: string): undefined => {
    res.redirect(303, backToClient(params, { error: 'invalid_request', error_description: description }));
    return undefined;
  };
  if (text('response_type') !== 'code' && res.req.method === 'GET') return fail('response_type must be code.');
  if (params.code_challenge_method !== 'S256' || !PKCE_VALUE.test(params.code_challenge)) return fail('PKCE with S256 is required.');
  return params;
}

function backToClient(params: DemoAuthorizationParams, answer: Record<string, string>): string {
  const url = new URL(params.redirect_uri);
  for (const [k, v] of Object.entries(answer)) url.searchParams.set(k, v);
  if (params.state) url.searchParams.set('state', params.state);
  return url.toString();
}

function send(res: Response, status: number, html: string): void {
  res.status(status).type('html').set('Cache-Control', 'no-store').send(html);
}
