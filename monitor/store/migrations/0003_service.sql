-- Adaptive polling, rule match history and service state shared with `monitor status`.
ALTER TABLE feeds ADD COLUMN poll_interval REAL;
ALTER TABLE feeds ADD COLUMN last_new_item_at REAL;
ALTER TABLE feeds ADD COLUMN avg_gap REAL;

CREATE TABLE rule_stats (
    rule_id         TEXT PRIMARY KEY,
    first_loaded_at REAL NOT NULL,
    last_matched_at REAL,
    matches         INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE service_state (
    key        TEXT PRIMARY KEY,
    value      TEXT,
    updated_at REAL NOT NULL
);
