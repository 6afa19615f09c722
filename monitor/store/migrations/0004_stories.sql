-- Story clustering (near-duplicate fingerprints), entity mentions over time, surges.
ALTER TABLE articles ADD COLUMN story_id INTEGER;
ALTER TABLE articles ADD COLUMN signature BLOB;
ALTER TABLE articles ADD COLUMN shingles INTEGER;
ALTER TABLE articles ADD COLUMN text_hash TEXT;
ALTER TABLE articles ADD COLUMN outlet TEXT;
CREATE INDEX articles_story ON articles(story_id);
CREATE INDEX articles_text_hash ON articles(text_hash);

-- LSH buckets: articles sharing a (band, hash) are candidate near-duplicates.
CREATE TABLE story_bands (
    band       INTEGER NOT NULL,
    hash       INTEGER NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles(id),
    at         REAL NOT NULL
);
CREATE INDEX story_bands_lookup ON story_bands(band, hash);
CREATE INDEX story_bands_time ON story_bands(at);

-- One row per (entity, article): which entities each stored article mentions, and when.
CREATE TABLE mentions (
    entity     TEXT NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles(id),
    outlet     TEXT,
    at         REAL NOT NULL,
    PRIMARY KEY (entity, article_id)
);
CREATE INDEX mentions_time ON mentions(entity, at);

-- Surges: an entity mentioned far above its baseline; one alert per surge until it ends.
CREATE TABLE surges (
    id          INTEGER PRIMARY KEY,
    entity      TEXT NOT NULL,
    started_at  REAL NOT NULL,
    ended_at    REAL,
    peak_count  INTEGER NOT NULL DEFAULT 0,
    outbox_id   INTEGER
);
CREATE INDEX surges_open ON surges(entity, ended_at);
