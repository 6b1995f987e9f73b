-- Up Migration

-- A person known to the organisation's identity provider (issue 13): the IdP names them by
-- (iss, sub), which never changes even when their e-mail or name does. The first verified
-- token or login creates the user; later ones find them here.
CREATE TABLE user_identities (
  issuer     text NOT NULL,
  subject    text NOT NULL,
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  email      text CHECK (char_length(email) <= 320),
  name       text CHECK (char_length(name) <= 100),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user_id ON user_identities (user_id);

-- Down Migration
DROP TABLE user_identities;
