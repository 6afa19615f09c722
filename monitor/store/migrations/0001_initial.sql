-- Feeds, articles and the per-feed sightings that make restarts idempotent.
CREATE TABLE feeds (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    url             TEXT NOT NULL,
    etag            TEXT,
    last_modified   TEXT,
    last_polled_at  REAL,
    last_success_at REAL,
    last_status     TEXT,
    last_error      TEXT,
    error_kind      TEXT,
    error_count     INTEGER NOT NULL DEFAULT 0,
    next_poll_at    REAL,
    items_seen      INTEGER NOT NULL DEFAULT 0,
    bozo_note       TEXT,
    created_at      REAL NOT NULL
);

CREATE TABLE articles (
    id                INTEGER PRIMARY KEY,
    identity          TEXT NOT NULL UNIQUE,
    canonical_url     TEXT UNIQUE,
    feed_id           INTEGER NOT NULL REFERENCES feeds(id),
    guid              TEXT,
    feed_title        TEXT NOT NULL DEFAULT '',
    feed_summary      TEXT NOT NULL DEFAULT '',
    title             TEXT NOT NULL DEFAULT '',
    text              TEXT,
    author            TEXT,
    language          TEXT,
    published_at      REAL,
    fetched_at        REAL,
    first_seen_at     REAL NOT NULL,
    extraction_status TEXT NOT NULL DEFAULT 'pending',
    extraction_error  TEXT,
    score             REAL,
    alert             INTEGER,
    hits_json         TEXT,
    scored_at         REAL
);
CREATE INDEX articles_status ON articles(extraction_status);
CREATE INDEX articles_feed ON articles(feed_id);

-- Every (feed, item identity) ever seen, so an item is processed once even when several
-- feeds carry the same article (the second sighting points at the existing article).
CREATE TABLE sightings (
    feed_id     INTEGER NOT NULL REFERENCES feeds(id),
    identity    TEXT NOT NULL,
    article_id  INTEGER NOT NULL REFERENCES articles(id),
    seen_at     REAL NOT NULL,
    PRIMARY KEY (feed_id, identity)
);
CREATE INDEX sightings_article ON sightings(article_id);
