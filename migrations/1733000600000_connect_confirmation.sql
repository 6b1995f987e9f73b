-- Up Migration

-- A connect flow started through the API (GET /api/connect/:provider/start with a key) must be
-- confirmed in a browser by the key's owner before it goes to the upstream: otherwise anyone could
-- send their start link to someone else, and the other person's upstream login would attach that
-- person's account to the sender's user (issue 18, item 1). 'pending' until confirmed on
-- /connect/confirm, which also binds the state to the confirming browser (web_binding_hash);
-- NULL for the flows that are bound from the start (web page, MCP sign-in).
ALTER TABLE oauth_states ADD COLUMN confirmation text CHECK (confirmation IN ('pending', 'confirmed'));

-- Down Migration
ALTER TABLE oauth_states DROP COLUMN confirmation;
