-- Up Migration

-- The server as an OAuth 2.1 authorization server for MCP clients (ChatGPT, Claude.ai, …).
-- Every secret that travels (client secrets, request handles, codes, tokens, cookies) is stored
-- only as its SHA-256: they are 256-bit random values, so a fast hash is as good as a slow one.

-- Clients registered dynamically (RFC 7591) or by an operator. Clients whose client_id is an
-- https URL (Client ID Metadata Documents) are never stored here: their document is the registration.
CREATE TABLE oauth_clients (
  client_id                  text PRIMARY KEY,
  client_secret_hash         bytea,
  token_endpoint_auth_method text NOT NULL CHECK (token_endpoint_auth_method IN ('none', 'client_secret_basic', 'client_secret_post')),
  redirect_uris              text[] NOT NULL,
  grant_types                text[] NOT NULL,
  client_name                text,
  -- The accepted registration metadata, echoed back to the client (RFC 7591 §3.2.1).
  metadata                   jsonb NOT NULL DEFAULT '{}',
  source                     text NOT NULL CHECK (source IN ('dynamic', 'operator')),
  created_at                 timestamptz NOT NULL DEFAULT now(),
  CHECK ((token_endpoint_auth_method = 'none') = (client_secret_hash IS NULL))
);

-- One row per authorization request between GET /oauth/authorize and the code it ends in.
-- The browser holds `handle` (hash stored); `csrf_hash` and `browser_hash` bind the consent form
-- and the upstream callback to the browser that loaded the consent page.
CREATE TABLE oauth_authorization_requests (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  handle_hash    bytea NOT NULL UNIQUE,
  csrf_hash      bytea NOT NULL,
  browser_hash   bytea NOT NULL,
  client_id      text NOT NULL,
  redirect_uri   text NOT NULL,
  state          text,
  code_challenge text NOT NULL,
  resource       text NOT NULL,
  scopes         text[] NOT NULL,
  -- Set once, when the user approves (single decision); the user when already known then.
  decided_at     timestamptz,
  user_id        uuid REFERENCES users(id) ON DELETE CASCADE,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL
);
CREATE INDEX oauth_authorization_requests_expires_at ON oauth_authorization_requests (expires_at);

-- An upstream login started for an MCP sign-in has no user yet: the upstream account decides who it is.
ALTER TABLE oauth_states ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE oauth_states ADD COLUMN authorization_request_id uuid REFERENCES oauth_authorization_requests(id) ON DELETE CASCADE;
ALTER TABLE oauth_states ADD CONSTRAINT oauth_states_owner CHECK (user_id IS NOT NULL OR authorization_request_id IS NOT NULL);

-- Sign-in finds a returning user by the upstream account they log in with.
CREATE INDEX connections_provider_account ON connections (provider_id, account_id);

-- What a user allowed a client to do; a returning, recognised browser skips the consent page.
CREATE TABLE oauth_consents (
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  client_id  text NOT NULL,
  scopes     text[] NOT NULL,
  granted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, client_id)
);

-- Minimal browser sessions: set after a successful sign-in, only to recognise a returning browser.
CREATE TABLE oauth_sessions (
  id_hash    bytea PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX oauth_sessions_expires_at ON oauth_sessions (expires_at);

-- Authorization codes: single use (DELETE … RETURNING), short-lived.
CREATE TABLE oauth_codes (
  code_hash      bytea PRIMARY KEY,
  client_id      text NOT NULL,
  user_id        uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  redirect_uri   text NOT NULL,
  code_challenge text NOT NULL,
  resource       text NOT NULL,
  scopes         text[] NOT NULL,
  created_at     timestamptz NOT NULL DEFAULT now(),
  expires_at     timestamptz NOT NULL
);
CREATE INDEX oauth_codes_expires_at ON oauth_codes (expires_at);

-- A grant is one token family: everything issued from one authorization code. Deleting it
-- revokes every access and refresh token in the family (RFC 9700 §4.14.2).
CREATE TABLE oauth_grants (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  client_id  text NOT NULL,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  scopes     text[] NOT NULL,
  resource   text NOT NULL,
  -- The code the family came from: a replayed code revokes the family (RFC 6749 §4.1.2).
  code_hash  bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX oauth_grants_user_client ON oauth_grants (user_id, client_id);

CREATE TABLE oauth_access_tokens (
  token_hash bytea PRIMARY KEY,
  grant_id   uuid NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  client_id  text NOT NULL,
  scopes     text[] NOT NULL,
  resource   text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX oauth_access_tokens_grant_id ON oauth_access_tokens (grant_id);
CREATE INDEX oauth_access_tokens_expires_at ON oauth_access_tokens (expires_at);

-- Rotating refresh tokens. A used token is kept (used_at set) so that its reuse is recognised.
CREATE TABLE oauth_refresh_tokens (
  token_hash  bytea PRIMARY KEY,
  grant_id    uuid NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
  parent_hash bytea,
  used_at     timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX oauth_refresh_tokens_grant_id ON oauth_refresh_tokens (grant_id);
CREATE INDEX oauth_refresh_tokens_parent_hash ON oauth_refresh_tokens (parent_hash);
CREATE INDEX oauth_refresh_tokens_expires_at ON oauth_refresh_tokens (expires_at);

-- Down Migration

DROP TABLE oauth_refresh_tokens;
DROP TABLE oauth_access_tokens;
DROP TABLE oauth_grants;
DROP TABLE oauth_codes;
DROP TABLE oauth_sessions;
DROP TABLE oauth_consents;
DROP INDEX connections_provider_account;
DELETE FROM oauth_states WHERE user_id IS NULL;
ALTER TABLE oauth_states DROP CONSTRAINT oauth_states_owner;
ALTER TABLE oauth_states DROP COLUMN authorization_request_id;
ALTER TABLE oauth_states ALTER COLUMN user_id SET NOT NULL;
DROP TABLE oauth_authorization_requests;
DROP TABLE oauth_clients;
