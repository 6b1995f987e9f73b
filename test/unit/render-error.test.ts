import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError, ForbiddenError, InvalidRequestError, JsonRpcError, NotFoundError, ServerError, TooManyRequestsError, UnauthorizedError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { AuthorizationPageError, AuthorizationRedirectError, InvalidClientError } from '../../src/oauth-server/errors.js';
import { jsonError, jsonRpcError, pageError, redirectError, toAppError } from '../../src/render-error.js';

/** A logger whose lines the test can read back. */
function capturingLog(): { log: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>> } {
  const written: string[] = [];
  const log = createLogger('debug', { write: (line: string) => void written.push(line) });
  return { log, lines: () => written.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** An error the way a bug or a driver throws one: its message names internals. */
function internalFailure(): Error {
  return Object.assign(new Error('relation "secret_table" does not exist at 10.0.0.5:5432 token=sk_live_abc'), { code: '42P01' });
}

const SECRET_WORDS = /secret_table|10\.0\.0\.5|sk_live_abc/;

describe('the error renderer', () => {
  it('renders an AppError as the contract JSON body with its status and headers', () => {
    const { log, lines } = capturingLog();
    const challenge = 'Bearer realm="mcp-oauth-proxy", error="invalid_token"';
    assert.deepEqual(jsonError(new UnauthorizedError('The API key is not valid.', challenge), log), {
      status: 401,
      headers: { 'WWW-Authenticate': challenge },
      body: { error: 'unauthorized', error_description: 'The API key is not valid.' },
    });
    assert.deepEqual(jsonError(new TooManyRequestsError('Slow down.', 2.2), log).headers, { 'Retry-After': '3' });
    assert.deepEqual(jsonError(new InvalidClientError('Unknown client.'), log).headers, { 'WWW-Authenticate': 'Basic realm="mcp-oauth-proxy", charset="UTF-8"' });
    assert.deepEqual(jsonError(new InvalidRequestError('Bad "limit".'), log).body, { error: 'invalid_request', error_description: 'Bad "limit".' });
    assert.equal(lines().length, 0, 'a refusal the client caused is not logged as a failure');
  });

  it('turns an unknown error into a generic 500 on every surface, logging the cause and showing none of it', () => {
    const { log, lines } = capturingLog();
    const where = { method: 'GET', path: '/x' };
    const json = jsonError(internalFailure(), log, where);
    assert.deepEqual(json, { status: 500, headers: {}, body: { error: 'server_error', error_description: 'Something went wrong on our side. Please try again.' } });
    const page = pageError(internalFailure(), log, where);
    assert.deepEqual(page.body, { status: 500, title: 'Something went wrong', message: 'Something went wrong on our side. Please try again.' });
    assert.deepEqual(redirectError(internalFailure(), log, where), { error: 'server_error', error_description: 'Something went wrong on our side. Please try again.' });
    const rpc = jsonRpcError(internalFailure(), log, where);
    assert.deepEqual(rpc, { status: 500, headers: {}, body: { jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null } });
    for (const rendered of [json, page, rpc]) assert.doesNotMatch(JSON.stringify(rendered), SECRET_WORDS);

    const logged = lines();
    assert.equal(logged.length, 4, 'each failure is logged once');
    for (const line of logged) {
      assert.equal(line.level, 50);
      assert.equal(line.msg, 'unhandled error');
      assert.equal(line.path, '/x');
      assert.match(String((line.err as { message?: string }).message), /secret_table/, 'the cause is in the log');
      assert.match(String((line.err as { stack?: string }).stack), /internalFailure/, 'with its stack');
    }
  });

  it('never shows the words of an error marked expose: false, on any surface', () => {
    const { log, lines } = capturingLog();
    const hidden = () => new AppError(502, 'upstream_unavailable', 'upstream said: password=hunter2', { expose: false, cause: internalFailure() });
    const hiddenClient = () => new ForbiddenError('rule 17 of the internal policy matched', 'forbidden', { expose: false });
    const json = jsonError(hidden(), log);
    const clientJson = jsonError(hiddenClient(), log);
    const clientPage = pageError(hiddenClient(), log);
    const rendered = [json, pageError(hidden(), log), redirectError(hidden(), log), jsonRpcError(hidden(), log), clientJson, clientPage];
    for (const r of rendered) assert.doesNotMatch(JSON.stringify(r), /hunter2|rule 17|secret_table/);
    assert.deepEqual(json, { status: 502, headers: {}, body: { error: 'upstream_unavailable', error_description: 'Something went wrong on our side. Please try again.' } });
    assert.deepEqual(clientJson.body, { error: 'forbidden', error_description: 'The request could not be processed.' });
    assert.equal(clientPage.status, 403);
    // …but the log has them, with the cause.
    const logged = lines();
    assert.equal(logged.length, rendered.length);
    assert.ok(logged.every((l) => l.msg === 'error not shown to the client'));
    assert.match(JSON.stringify(logged[0]), /hunter2/);
    assert.match(JSON.stringify(logged[0]), /secret_table/, 'the cause is logged');
    // A 500 with its own words is hidden by default.
    assert.equal(jsonError(new ServerError('pool exhausted at db-3'), log).body.error_description, 'Something went wrong on our side. Please try again.');
  });

  it('maps a database outage to 503 with Retry-After and body-parser errors to 4xx', () => {
    const { log, lines } = capturingLog();
    const outage = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });
    const json = jsonError(outage, log);
    assert.equal(json.status, 503);
    assert.deepEqual(json.headers, { 'Retry-After': '5' });
    assert.equal(json.body.error, 'temporarily_unavailable');
    assert.doesNotMatch(JSON.stringify(json), /10\.0\.0\.5/);
    assert.equal(lines()[0]?.msg, 'database unavailable');
    assert.equal(jsonError(Object.assign(new Error('x'), { type: 'entity.too.large' }), log).status, 413);
    assert.deepEqual(jsonError(Object.assign(new Error('x'), { type: 'entity.parse.failed' }), log).body, { error: 'invalid_request', error_description: 'The request body is not valid JSON.' });
  });

  it('renders pages with the error title, or one per status', () => {
    const { log } = capturingLog();
    assert.deepEqual(pageError(new AuthorizationPageError(429, 'Too many attempts', 'Wait a minute.', { 'Retry-After': '60' }), log), {
      status: 429,
      headers: { 'Retry-After': '60' },
      body: { status: 429, title: 'Too many attempts', message: 'Wait a minute.' },
    });
    assert.equal(pageError(new NotFoundError('No such key.'), log).body.title, 'Not found');
    assert.equal(pageError(new ForbiddenError('No.'), log).body.title, 'Not allowed');
    assert.equal(pageError(new InvalidRequestError('Bad.'), log).body.title, 'That did not work');
    assert.equal(pageError(new ForbiddenError('Form is stale.', 'csrf_failed', { title: 'Form expired' }), log).body.title, 'Form expired');
  });

  it('renders an authorization error redirect with the RFC 6749 §4.1.2.1 codes only', () => {
    const { log } = capturingLog();
    assert.deepEqual(redirectError(new AuthorizationRedirectError('access_denied', 'The user denied access.'), log), { error: 'access_denied', error_description: 'The user denied access.' });
    assert.deepEqual(redirectError(new InvalidRequestError('PKCE S256 is required.'), log), { error: 'invalid_request', error_description: 'PKCE S256 is required.' });
    // A code the redirect cannot carry goes back as server_error, without its words.
    assert.deepEqual(redirectError(new NotFoundError('No row 42 in clients.'), log), { error: 'server_error', error_description: 'Something went wrong on our side. Please try again.' });
  });

  it('renders JSON-RPC errors with their own code, server-defined codes for other AppErrors', () => {
    const { log } = capturingLog();
    assert.deepEqual(jsonRpcError(new JsonRpcError(400, -32700, 'Parse error: Invalid JSON'), log), {
      status: 400,
      headers: {},
      body: { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error: Invalid JSON' }, id: null },
    });
    const allow = jsonRpcError(new JsonRpcError(405, -32000, 'Method not allowed', { headers: { Allow: 'POST' } }), log);
    assert.deepEqual(allow.headers, { Allow: 'POST' });
    assert.deepEqual(jsonRpcError(new TooManyRequestsError('Over the limit.', 5), log).body.error, { code: -32000, message: 'Over the limit.' });
  });

  it('keeps AppErrors as they are and wraps unknown ones with their cause', () => {
    const { log } = capturingLog();
    const known = new InvalidRequestError('x');
    assert.equal(toAppError(known, log), known);
    const cause = internalFailure();
    const wrapped = toAppError(cause, log);
    assert.equal(wrapped.status, 500);
    assert.equal(wrapped.cause, cause);
    assert.equal(wrapped.expose, false);
  });
});
