-- PostgreSQL's full-text index of stored articles, in place of SQLite's FTS5 table: the same
-- columns (rowid is the article id), and a tsvector of each pair of columns kept by the server
-- (so retention's UPDATE of the body updates it too), with a GIN index. docs/search.md
-- "On PostgreSQL".
--
-- The columns already hold the matcher's tokens joined by single spaces (monitor.search.fields),
-- so search_vector() takes them verbatim as lexemes, at their positions, instead of running a
-- text-search parser: the 'simple' parser drops characters the skeleton columns use (U+061C)
-- and splits by the server's locale. Title tokens get weight A, body tokens weight D, after a
-- one-position gap (a phrase never spans the two, as in FTS5). tsvector keeps at most 256
-- positions per lexeme and none past 16383: such positions are left out (never approximated)
-- and the row gets the lexeme '~', which no token can be, so that queries
-- (monitor.search.expr) ask a phrase there as its words. A token is cut to 500 characters
-- (under tsvector's 2047-byte limit for a lexeme); queries cut theirs alike.
-- No semicolon may appear inside the function: migrations are split on them.
CREATE FUNCTION search_vector(title TEXT, body TEXT) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH occurrence AS (
        SELECT left(tok, 500) AS lexeme, pos, 'A' AS weight
            FROM unnest(string_to_array(COALESCE(title, ''), ' ')) WITH ORDINALITY AS t(tok, pos)
        UNION ALL
        SELECT left(tok, 500), pos + cardinality(string_to_array(COALESCE(title, ''), ' ')) + 1,
               'D'
            FROM unnest(string_to_array(COALESCE(body, ''), ' ')) WITH ORDINALITY AS b(tok, pos)
    ), ranked AS (
        SELECT lexeme, pos, weight,
               pos <= 16383 AND row_number() OVER (PARTITION BY lexeme ORDER BY pos) <= 256
                   AS kept
            FROM occurrence WHERE lexeme <> ''
    ), entry AS (
        SELECT '''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''''
               || COALESCE(':' || string_agg(pos::text || weight, ',' ORDER BY pos)
                                      FILTER (WHERE kept), '') AS item
            FROM ranked GROUP BY lexeme
        UNION ALL
        SELECT '''~''' WHERE EXISTS (SELECT 1 FROM ranked WHERE NOT kept)
    )
    SELECT COALESCE(string_agg(item, ' '), '')::tsvector FROM entry
$$;

CREATE TABLE article_search (
    rowid       BIGINT PRIMARY KEY,
    title       TEXT,
    body        TEXT,
    title_skel  TEXT,
    body_skel   TEXT,
    terms       tsvector GENERATED ALWAYS AS (search_vector(title, body)) STORED,
    skel_terms  tsvector GENERATED ALWAYS AS (search_vector(title_skel, body_skel)) STORED
);
CREATE INDEX article_search_terms ON article_search USING GIN (terms);
CREATE INDEX article_search_skel_terms ON article_search USING GIN (skel_terms);

CREATE TABLE search_backfill (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    format  TEXT NOT NULL,
    done    INTEGER NOT NULL,
    upto    INTEGER NOT NULL
);
INSERT INTO search_backfill(id, format, done, upto)
    SELECT 1, '', 0, COALESCE(MAX(id), 0) FROM articles;
