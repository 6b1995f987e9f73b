-- Up Migration

-- What other instances must stop trusting from memory: a key's status (revoked, scopes, limits,
-- expiry), a user's standing (disabled, deleted) and a connection row (tokens refreshed,
-- reconnected, disconnected). Every instance reads the rows added since its last look about once
-- a second (src/db/change-feed.ts), so its caches may keep what did not change for minutes
-- instead of re-reading every active user's rows every 5 s (with 20,000 active users that was
-- thousands of statements a second: docs/scaling.md).
--
-- Written by triggers, so no write path can skip it: the app, the admin CLI, `reencrypt`, or an
-- operator's own SQL. `at` is the time of the write (clock_timestamp(), not the transaction's
-- start), and readers look back a few seconds past their last read, so a write that committed
-- after a reader's snapshot is still seen by its next one. Rows are swept after an hour.
CREATE TABLE cache_changes (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT clock_timestamp(),
  kind    text NOT NULL CHECK (kind IN ('key', 'user', 'connection')),
  user_id uuid NOT NULL,
  -- The key's id ('key'), the provider's id ('connection'), null for 'user'.
  subject text
);
CREATE INDEX cache_changes_at ON cache_changes (at);

CREATE FUNCTION note_cache_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  IF TG_TABLE_NAME = 'api_keys' THEN
    INSERT INTO cache_changes (kind, user_id, subject) VALUES ('key', r.user_id, r.id::text);
  ELSIF TG_TABLE_NAME = 'users' THEN
    INSERT INTO cache_changes (kind, user_id) VALUES ('user', r.id);
  ELSE
    INSERT INTO cache_changes (kind, user_id, subject) VALUES ('connection', r.user_id, r.provider_id);
  END IF;
  RETURN NULL;
END $$;

-- Not on `last_used_at`: the usage sync stamps it once a minute per key in use, and no cached
-- status depends on it.
CREATE TRIGGER api_keys_cache_change AFTER UPDATE ON api_keys FOR EACH ROW
  WHEN ((OLD.revoked_at, OLD.expires_at, OLD.scopes, OLD.name, OLD.user_id, OLD.secret_hash, OLD.rate_limit_per_minute, OLD.rate_limit_per_hour)
        IS DISTINCT FROM (NEW.revoked_at, NEW.expires_at, NEW.scopes, NEW.name, NEW.user_id, NEW.secret_hash, NEW.rate_limit_per_minute, NEW.rate_limit_per_hour))
  EXECUTE FUNCTION note_cache_change();
CREATE TRIGGER api_keys_cache_gone AFTER DELETE ON api_keys FOR EACH ROW EXECUTE FUNCTION note_cache_change();

CREATE TRIGGER users_cache_change AFTER UPDATE OF disabled_at ON users FOR EACH ROW
  WHEN (OLD.disabled_at IS DISTINCT FROM NEW.disabled_at)
  EXECUTE FUNCTION note_cache_change();
CREATE TRIGGER users_cache_gone AFTER DELETE ON users FOR EACH ROW EXECUTE FUNCTION note_cache_change();

-- Not on INSERT: no instance caches a connection that did not exist (an upsert over an existing
-- row fires the UPDATE trigger).
CREATE TRIGGER connections_cache_change AFTER UPDATE OR DELETE ON connections FOR EACH ROW EXECUTE FUNCTION note_cache_change();

-- Down Migration
DROP TRIGGER connections_cache_change ON connections;
DROP TRIGGER users_cache_gone ON users;
DROP TRIGGER users_cache_change ON users;
DROP TRIGGER api_keys_cache_gone ON api_keys;
DROP TRIGGER api_keys_cache_change ON api_keys;
DROP FUNCTION note_cache_change();
DROP TABLE cache_changes;
