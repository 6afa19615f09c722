-- The LSH band index moved to memory (monitor/dedupe/bands.py): it is rebuilt from
-- articles.signature, so the on-disk copy and its 64 rows per article go.
DROP INDEX IF EXISTS story_bands_lookup;
DROP INDEX IF EXISTS story_bands_time;
DROP TABLE IF EXISTS story_bands;
-- Loading and pruning the index select the articles of the last window_hours.
CREATE INDEX articles_seen ON articles(first_seen_at);
