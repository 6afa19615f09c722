-- The alert outbox: rows are written in the same transaction as the article's match and are
-- never deleted by delivery; they move pending -> sending -> sent (or folded into a digest row).
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    destination      TEXT NOT NULL,
    kind             TEXT NOT NULL,
    article_id       INTEGER REFERENCES articles(id),
    severity         TEXT,
    payload_json     TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL DEFAULT 0,
    last_error       TEXT,
    created_at       REAL NOT NULL,
    sent_at          REAL,
    message_id       INTEGER,
    chat_id          TEXT,
    plain_fallback   INTEGER NOT NULL DEFAULT 0,
    digest_id        INTEGER REFERENCES outbox(id)
);
CREATE INDEX outbox_queue ON outbox(destination, status, id);

-- Per-destination delivery state: a permanent error pauses a destination (nothing is dropped).
CREATE TABLE destinations (
    name          TEXT PRIMARY KEY,
    paused_at     REAL,
    paused_reason TEXT,
    last_sent_at  REAL
);
