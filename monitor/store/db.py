"""Opening the state database: SQLite (the embedded default) or PostgreSQL, numbered migrations.

A *target* is a file path (SQLite, WAL mode) or a ``postgresql://`` URL (:mod:`.postgres`).
``migrations/NNNN_name.sql`` files are applied in order, each in its own transaction together
with the version bump, so a crash during a migration leaves the previous version intact. Both
engines run the same files (PostgreSQL gets its column types through
:func:`monitor.store.postgres.ddl`); a file in ``migrations/postgresql/`` of the same number
replaces one that cannot be written for both (the full-text index). The schema version is
SQLite's ``PRAGMA user_version``, and a ``schema_version`` table on PostgreSQL, where an advisory
lock makes replicas starting together migrate one at a time.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import psycopg

from monitor.errors import StoreError
from monitor.store import postgres

_MIGRATION_NAME = re.compile(r"^(\d{4})_[\w-]+\.sql$")
_MIGRATION_LOCK = 0x6D6F6E01      # pg_advisory_lock key: one replica migrates at a time

Target = Path | str
"""Where the state is: a SQLite file path or a ``postgresql://`` URL."""

STORE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
"""What either engine raises for a failing statement (busy, locked, connection lost)."""


def is_url(target: Target) -> bool:
    """Whether ``target`` names a PostgreSQL server rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


def is_postgres(conn: object) -> bool:
    """Whether a connection (or Database) handed to a store function is PostgreSQL's."""
    return getattr(conn, "dialect", "sqlite") == "postgresql"


def display(target: Target) -> str:
    """How messages name a target: the path, or the URL without its password."""
    return postgres.redact(target) if is_url(target) else str(target)


class Database:
    """One SQLite connection used from the event-loop thread (queries are tiny and indexed)."""

    dialect = "sqlite"

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


def migrations(dialect: str = "sqlite") -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every bundled migration for an engine, in order."""
    found: dict[int, tuple[int, str, str]] = {}
    folder = resources.files("monitor.store").joinpath("migrations")
    folders = [folder] + ([folder.joinpath("postgresql")] if dialect == "postgresql" else [])
    for place in folders:
        for entry in place.iterdir():
            match = _MIGRATION_NAME.match(entry.name)
            if match:
                version = int(match.group(1))
                found[version] = (version, entry.name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def open_database(target: Target) -> Database | postgres.PostgresDatabase:
    """Open and migrate the state: a SQLite file (folders and file created as needed) or a
    PostgreSQL database named by a ``postgresql://`` URL."""
    if is_url(target):
        return _open_postgres(str(target))
    path = Path(target)
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


def open_read_only(path: Target, *, timeout: float = 5.0
                   ) -> sqlite3.Connection | postgres.PgConnection:
    """A read-only connection of its own to an existing state database (no migrations, plain
    tuple rows), for readers outside the daemon's connection: backtests, metric scrapes."""
    if is_url(path):
        return postgres.open_read_only(str(path))
    # As a URI, percent-encoded: a path with '?', '#' or '%' stays a path.
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)


def _pending(db: Database | postgres.PostgresDatabase, dialect: str
             ) -> list[tuple[int, str, str]]:
    """The migrations still to apply; refuses a state newer than this program."""
    current = db.schema_version
    known = migrations(dialect)
    latest = known[-1][0] if known else 0
    if current > latest:
        raise StoreError(f"state database {db.path} has schema version {current}, newer than this "
                         f"program knows ({latest}); upgrade the program")
    return [m for m in known if m[0] > current]


def _migrate(db: Database) -> None:
    for version, _name, sql in _pending(db, "sqlite"):
        with db.transaction() as conn:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version}")


def _open_postgres(url: str) -> postgres.PostgresDatabase:
    postgres.probe(url)
    db = postgres.PostgresDatabase(url)
    try:
        _migrate_postgres(db)
    except psycopg.Error as exc:
        db.close()
        raise StoreError(f"state database {db.path} is unusable: "
                         f"{postgres.redact(str(exc)).strip()}") from None
    return db


def _migrate_postgres(db: postgres.PostgresDatabase) -> None:
    conn = db.conn
    conn.execute("SELECT pg_advisory_lock(?)", (_MIGRATION_LOCK,))
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                     "name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL DEFAULT "
                     "EXTRACT(EPOCH FROM now()))")
        for version, name, sql in _pending(db, "postgresql"):
            with db.transaction():
                for statement in _statements(sql):
                    conn.raw.execute(postgres.ddl(statement))
                conn.execute("INSERT INTO schema_version(version, name) VALUES (?, ?)",
                             (version, name))
    finally:
        conn.execute("SELECT pg_advisory_unlock(?)", (_MIGRATION_LOCK,))


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
