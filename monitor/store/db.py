"""Opening the state database: WAL mode, explicit transactions, numbered SQL migrations.

The schema version is SQLite's ``PRAGMA user_version``; ``migrations/NNNN_name.sql`` files are
applied in order, each in its own transaction together with the version bump, so a crash during a
migration leaves the previous version intact.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from monitor.errors import StoreError

_MIGRATION_NAME = re.compile(r"^(\d{4})_[\w-]+\.sql$")


class Database:
    """One connection used from the event-loop thread (queries are tiny and indexed)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception and re-raises it."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @property
    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self.conn.close()


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every bundled migration, in order."""
    found = []
    folder = resources.files("monitor.store").joinpath("migrations")
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def open_database(path: Path | str) -> Database:
    """Open (creating folders and file as needed) and migrate the state database."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, timeout=10.0)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"cannot open state database {path}: {exc}") from exc
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a power cut may lose the last commits but never corrupts the file.
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        # The temp schema holds derived in-memory indexes (monitor/store/stories.py), never files.
        conn.execute("PRAGMA temp_store=MEMORY")
        db = Database(conn, path)
        _migrate(db)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StoreError(f"state database {path} is unusable: {exc}") from exc
    return db


def open_read_only(path: Path | str, *, timeout: float = 5.0) -> sqlite3.Connection:
    """A read-only connection of its own to an existing state database (no migrations, plain
    tuple rows), for readers outside the daemon's connection: backtests, metric scrapes."""
    # As a URI, percent-encoded: a path with '?', '#' or '%' stays a path.
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)


def _migrate(db: Database) -> None:
    current = db.schema_version
    known = migrations()
    latest = known[-1][0] if known else 0
    if current > latest:
        raise StoreError(f"state database {db.path} has schema version {current}, newer than this "
                         f"program knows ({latest}); upgrade the program")
    for version, _name, sql in known:
        if version <= current:
            continue
        with db.transaction() as conn:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    return [s.strip() for s in sqlite3_split(sql) if s.strip()]


def sqlite3_split(sql: str) -> Iterator[str]:
    """Yield complete SQL statements from a script, using SQLite's own completeness check."""
    buf = ""
    for line in sql.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buf += line
        if sqlite3.complete_statement(buf):
            yield buf
            buf = ""
    if buf.strip():
        yield buf
