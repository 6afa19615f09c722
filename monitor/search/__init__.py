"""Archive search: what the full-text index holds for an article (:mod:`~monitor.search.fields`),
how a query becomes an index expression (:mod:`~monitor.search.query`; written for SQLite's FTS5
or PostgreSQL by :mod:`~monitor.search.expr`), how matches are found and
highlighted in the original spelling (:mod:`~monitor.search.highlight`) and how results are
ranked (:mod:`~monitor.search.engine`). The SQL is in :mod:`monitor.store.search`."""
