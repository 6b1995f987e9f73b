-- Up Migration

-- The OAuth client this server registered (RFC 7591) at a remote MCP server's authorization
-- server: one per provider and issuer, shared by every user and every instance. The secret, when
-- the server issued one, is AES-256-GCM encrypted like upstream tokens.
CREATE TABLE mcp_client_registrations (
  provider_id       text NOT NULL,
  issuer            text NOT NULL,
  client_id         text NOT NULL,
  client_secret_enc text,
  token_auth        text NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (provider_id, issuer)
);

-- Down Migration
DROP TABLE mcp_client_registrations;
