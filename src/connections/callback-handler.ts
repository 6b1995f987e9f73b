import type { CallbackQuery, ConsumedCallback } from './connect-flow.js';

/**
 * Finishes the callback of an upstream login that another flow started (an MCP client's sign-in,
 * the web page's connect or sign-in), once `/api/connect/:provider/callback` has consumed its
 * state. The one redirect URI registered upstream serves every flow, so the route and the flows
 * share this shape; it is generic over the request and response because connections/ knows no
 * web framework (web/ instantiates it with express's).
 */
export type CallbackHandler<Req, Res> = (req: Req, res: Res, consumed: ConsumedCallback, query: CallbackQuery) => Promise<void>;
