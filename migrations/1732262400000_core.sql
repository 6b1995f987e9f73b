-- Up Migration

CREATE TABLE users (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text CHECK (char_length(name) <= 100),
  created_at  timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz
);

-- A key is `sk_<public_id>_<secret+checksum>`: the public id makes verification one indexed
-- lookup plus one bcrypt compare. Only the bcrypt hash of the whole key is stored.
CREATE TABLE api_keys (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  public_id    text NOT NULL UNIQUE,
  name         text CHECK (char_length(name) <= 100),
  secret_hash  text NOT NULL,
  scopes       text[] NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  expires_at   timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX api_keys_user_id ON api_keys (user_id);

-- One row per started connect flow; consumed (deleted) by the callback exactly once.
-- Only a SHA-256 of the state is kept: the state travels through the browser and is a bearer secret.
CREATE TABLE oauth_states (
  state_hash        bytea PRIMARY KEY,
  user_id           uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  provider_id       text NOT NULL,
  code_verifier_enc text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  expires_at        timestamptz NOT NULL
);
CREATE INDEX oauth_states_expires_at ON oauth_states (expires_at);

CREATE TABLE connections (
  user_id           uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  provider_id       text NOT NULL,
  account_id        text,
  scopes            text[] NOT NULL DEFAULT '{}',
  access_token_enc  text NOT NULL,
  refresh_token_enc text,
  expires_at        timestamptz,
  -- Set when the upstream refused our refresh token: the user must connect again.
  reauth_required_at timestamptz,
  connected_at      timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, provider_id)
);

-- Down Migration

DROP TABLE connections;
DROP TABLE oauth_states;
DROP TABLE api_keys;
DROP TABLE users;
