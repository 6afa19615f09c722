-- Several replicas on one PostgreSQL state (docs/postgresql.md). Harmless on SQLite, where one
-- daemon runs: its claims are its own and the band index stays in memory.

-- A feed is polled by the replica that claimed it, until its lease ends (monitor/store/leases.py).
ALTER TABLE feeds ADD COLUMN claimed_by TEXT;
ALTER TABLE feeds ADD COLUMN claimed_until REAL;

-- The story band index shared by the replicas (monitor/store/stories.py), PostgreSQL only.
CREATE TABLE story_band_keys (
    key        INTEGER NOT NULL,
    article_id INTEGER NOT NULL,
    PRIMARY KEY (key, article_id)
);
CREATE INDEX story_band_keys_article ON story_band_keys(article_id);

-- Each replica's heartbeat and what it holds, for monitor status and /metrics.
CREATE TABLE replicas (
    name          TEXT PRIMARY KEY,
    host          TEXT NOT NULL DEFAULT '',
    pid           INTEGER NOT NULL DEFAULT 0,
    started_at    REAL NOT NULL,
    heartbeat_at  REAL NOT NULL,
    leader        INTEGER NOT NULL DEFAULT 0,
    feeds_polling INTEGER NOT NULL DEFAULT 0
);
