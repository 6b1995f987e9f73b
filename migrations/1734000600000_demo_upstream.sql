-- Up Migration

-- The built-in demo upstream (src/demo/): an OAuth 2 server and a notes API served by this same
-- process under /demo/, so a fresh install has something to connect to. Its codes and tokens are
-- stored only as SHA-256 hashes, like this server's own (oauth-server/secrets.ts). Every instance
-- shares these tables, so any instance answers any demo request.
CREATE TABLE demo_codes (
  code_hash      bytea PRIMARY KEY,
  account        text NOT NULL,
  client_id      text NOT NULL,
  redirect_uri   text NOT NULL,
  code_challenge text,
  scopes         text[] NOT NULL,
  expires_at     timestamptz NOT NULL
);

-- One grant per login; a refresh rotates its tokens, and revoking any of its tokens ends all of them.
CREATE TABLE demo_tokens (
  token_hash bytea PRIMARY KEY,
  grant_id   uuid NOT NULL,
  kind       text NOT NULL CHECK (kind IN ('access', 'refresh')),
  account    text NOT NULL,
  scopes     text[] NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX demo_tokens_grant ON demo_tokens (grant_id);
CREATE INDEX demo_tokens_expiry ON demo_tokens (expires_at);

CREATE TABLE demo_notes (
  id         bigserial PRIMARY KEY,
  account    text NOT NULL,
  text       text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX demo_notes_account ON demo_notes (account, id);

-- Down Migration
DROP TABLE demo_notes;
DROP TABLE demo_tokens;
DROP TABLE demo_codes;
