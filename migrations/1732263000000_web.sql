-- Up Migration

-- Sessions of the web page (/, /dashboard). The cookie holds 256 random bits; only their SHA-256
-- is stored. A session signed in with an API key acts with that key's authority and ends when the
-- key stops working (key_id); one started by registration or by an upstream login acts as the user
-- (key_id NULL). Sessions end after 12 h without use (last_seen_at) or 7 days in all (expires_at).
CREATE TABLE web_sessions (
  id_hash      bytea PRIMARY KEY,
  user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  key_id       uuid REFERENCES api_keys(id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL
);
CREATE INDEX web_sessions_user_id ON web_sessions (user_id);
CREATE INDEX web_sessions_key_id ON web_sessions (key_id);
CREATE INDEX web_sessions_expires_at ON web_sessions (expires_at);

-- An upstream login the web page started (connecting an account, or signing in) is bound to the
-- browser that started it: the SHA-256 of that browser's binding cookie. A web sign-in has no user
-- yet, like an MCP client's sign-in: the upstream account decides who it is.
ALTER TABLE oauth_states ADD COLUMN web_binding_hash bytea;
ALTER TABLE oauth_states DROP CONSTRAINT oauth_states_owner;
ALTER TABLE oauth_states ADD CONSTRAINT oauth_states_owner
  CHECK (user_id IS NOT NULL OR authorization_request_id IS NOT NULL OR web_binding_hash IS NOT NULL);

-- Down Migration

DELETE FROM oauth_states WHERE user_id IS NULL AND authorization_request_id IS NULL;
ALTER TABLE oauth_states DROP CONSTRAINT oauth_states_owner;
ALTER TABLE oauth_states ADD CONSTRAINT oauth_states_owner CHECK (user_id IS NOT NULL OR authorization_request_id IS NOT NULL);
ALTER TABLE oauth_states DROP COLUMN web_binding_hash;
DROP TABLE web_sessions;
