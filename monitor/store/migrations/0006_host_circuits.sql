-- Hosts whose article pages keep failing are skipped for a cool-down (monitor/fetch/hosts.py);
-- stored so that `monitor feeds` shows them and the next process starts from the same state.
CREATE TABLE host_circuits (
    host        TEXT PRIMARY KEY,
    failures    INTEGER NOT NULL,
    opened_at   REAL NOT NULL,
    open_until  REAL NOT NULL,
    last_error  TEXT
);
