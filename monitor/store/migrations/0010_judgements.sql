-- Analysts in the loop: judgements of alerts (triage buttons), story and entity mutes. The Bot
-- API update offset lives in service_state ('telegram.update_offset') and is advanced in the
-- same transaction that records what an update did, so a restart neither loses nor repeats it.
CREATE TABLE judgements (
    article_id  INTEGER NOT NULL REFERENCES articles(id),
    user_id     INTEGER NOT NULL,
    user_name   TEXT NOT NULL DEFAULT '',
    label       TEXT NOT NULL CHECK (label IN ('relevant', 'not_relevant')),
    rule_id     TEXT,
    outbox_id   INTEGER REFERENCES outbox(id),
    update_id   INTEGER,
    at          REAL NOT NULL,
    PRIMARY KEY (article_id, user_id)
);
CREATE INDEX judgements_time ON judgements(at);
CREATE INDEX judgements_rule ON judgements(rule_id);

-- "Mute this story", pressed on one alert: no more "also reported by" for its story.
CREATE TABLE story_mutes (
    outbox_id  INTEGER PRIMARY KEY REFERENCES outbox(id),
    story_id   INTEGER,
    user_id    INTEGER NOT NULL,
    user_name  TEXT NOT NULL DEFAULT '',
    at         REAL NOT NULL
);
CREATE INDEX story_mutes_story ON story_mutes(story_id);

-- /mute <entity> <duration>: alerts whose every entity is muted are held (status 'muted').
CREATE TABLE entity_mutes (
    entity     TEXT PRIMARY KEY,
    until      REAL NOT NULL,
    user_id    INTEGER,
    user_name  TEXT NOT NULL DEFAULT '',
    at         REAL NOT NULL
);
