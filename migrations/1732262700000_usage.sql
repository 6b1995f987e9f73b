-- Up Migration

-- Tool calls per user, provider, tool and UTC day. Each instance adds its in-memory counts with
-- one batched upsert every few seconds, so a call never costs a write of its own.
CREATE TABLE tool_usage (
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  day         date NOT NULL,
  provider_id text NOT NULL,
  tool        text NOT NULL,
  ok          integer NOT NULL DEFAULT 0 CHECK (ok >= 0),
  error       integer NOT NULL DEFAULT 0 CHECK (error >= 0),
  PRIMARY KEY (user_id, day, provider_id, tool)
);
-- The primary key serves a user's own report; the operator's report across users goes by day.
CREATE INDEX tool_usage_day ON tool_usage (day);

-- Down Migration

DROP TABLE tool_usage;
