-- Up Migration

-- When the stored access token was requested, on the application's clock (the clock expires_at
-- is computed with). The refresh margin is a share of the token's lifetime,
-- expires_at - access_token_issued_at. updated_at served before, but it is set by the database
-- clock at the start of the refresh transaction (before the lock wait and the token request) and
-- by any other write to the row, so the lifetime it implied drifted.
ALTER TABLE connections ADD COLUMN access_token_issued_at timestamptz NOT NULL DEFAULT now();
UPDATE connections SET access_token_issued_at = updated_at;

-- Down Migration

ALTER TABLE connections DROP COLUMN access_token_issued_at;
