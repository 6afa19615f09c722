-- Archive search (docs/search.md): every article's title and body text as the matcher sees them
-- (normalised tokens, one indexed token per token of the text, monitor/search/fields.py), and
-- the variant skeletons of its tokens, which `monitor backtest` uses to find the articles an edit
-- of a variant-matched entity can change. Row id = article id. The body is the text scoring
-- reads: the extracted text, else the feed's summary; it empties when retention drops the text.
CREATE VIRTUAL TABLE article_search USING fts5(
    title, body, title_skel, body_skel, tokenize = 'ascii', detail = full
);

-- Articles stored before the index existed (or indexed by an older normalisation, whose
-- `format` differs) are indexed in batches by a resumable backfill: the articles up to `upto`
-- are (re)indexed up to `done`; later ones are indexed as they are stored.
CREATE TABLE search_backfill (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    format  TEXT NOT NULL,
    done    INTEGER NOT NULL,
    upto    INTEGER NOT NULL
);
INSERT INTO search_backfill(id, format, done, upto)
    SELECT 1, '', 0, COALESCE(MAX(id), 0) FROM articles;
