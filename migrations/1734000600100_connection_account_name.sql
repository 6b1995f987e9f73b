-- Up Migration

-- A human-readable name of the upstream account (GitHub's `login`), beside its stable id, when a
-- provider's account lookup (`account.name`) gives one. Shown by status and the dashboard.
ALTER TABLE connections ADD COLUMN account_name text;

-- Down Migration
ALTER TABLE connections DROP COLUMN account_name;
