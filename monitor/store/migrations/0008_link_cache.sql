-- Google News item links resolved to the publisher's URL (monitor/source/google_news.py): the
-- exchange costs two requests to a host that throttles, and an article id never changes meaning,
-- so a resolution is kept until housekeeping prunes it by age.
CREATE TABLE link_cache (
    link         TEXT PRIMARY KEY,
    resolved     TEXT NOT NULL,
    resolved_at  REAL NOT NULL
);
-- Pruning by age scans resolved_at.
CREATE INDEX IF NOT EXISTS link_cache_resolved_at ON link_cache(resolved_at);
