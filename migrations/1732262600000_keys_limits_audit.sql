-- Up Migration

-- Per-key rate limits (NULL = the server default) and rotation bookkeeping.
ALTER TABLE api_keys
  ADD COLUMN rate_limit_per_minute integer CHECK (rate_limit_per_minute > 0),
  ADD COLUMN rate_limit_per_hour   integer CHECK (rate_limit_per_hour > 0),
  -- Set on the old key when it is rotated: a key is rotated once, its replacement after that.
  ADD COLUMN replaced_by uuid REFERENCES api_keys(id) ON DELETE SET NULL;

-- Request counts per key per fixed window (60 s and 3600 s, keyed by window start). Instances
-- count in memory and add their counts here in one batched statement about once a second.
-- No foreign key on purpose: rows are short-lived scratch data that housekeeping deletes, and a
-- flush must not fail because a user (and so their keys) was deleted in between.
CREATE TABLE key_rate_windows (
  key_id         uuid NOT NULL,
  window_seconds integer NOT NULL CHECK (window_seconds IN (60, 3600)),
  window_start   timestamptz NOT NULL,
  count          bigint NOT NULL CHECK (count >= 0),
  PRIMARY KEY (key_id, window_seconds, window_start)
);
CREATE INDEX key_rate_windows_window_start ON key_rate_windows (window_start);

-- Security-relevant events a user can read back with GET /api/audit.
CREATE TABLE audit_events (
  id         bigserial PRIMARY KEY,
  at         timestamptz NOT NULL DEFAULT clock_timestamp(),
  user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  type       text NOT NULL,
  -- Display prefix of the key that acted (sk_<public id>), never a secret; NULL for the OAuth
  -- callback (a browser, no key), the operator CLI and background work.
  key_prefix text,
  ip         text,
  user_agent text CHECK (char_length(user_agent) <= 512),
  detail     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_events_user_at ON audit_events (user_id, at DESC, id DESC);
CREATE INDEX audit_events_at ON audit_events (at);

-- Down Migration

DROP TABLE audit_events;
DROP TABLE key_rate_windows;
ALTER TABLE api_keys DROP COLUMN replaced_by, DROP COLUMN rate_limit_per_hour, DROP COLUMN rate_limit_per_minute;
