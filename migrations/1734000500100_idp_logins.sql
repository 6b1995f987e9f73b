-- Up Migration

-- One row per sign-in sent to the organisation's IdP (login mode, issue 13); consumed (deleted)
-- by the callback exactly once. Only a SHA-256 of the state is kept (it travels through the
-- browser); the PKCE verifier is encrypted; the nonce is checked against the id_token.
CREATE TABLE idp_logins (
  state_hash        bytea PRIMARY KEY,
  browser_hash      bytea NOT NULL,
  nonce             text NOT NULL,
  code_verifier_enc text NOT NULL,
  -- Set when the login is the consent step of this server's own authorization server.
  authorization_request_id uuid REFERENCES oauth_authorization_requests(id) ON DELETE CASCADE,
  created_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL
);
CREATE INDEX idp_logins_expires_at ON idp_logins (expires_at);

-- Down Migration
DROP TABLE idp_logins;
