"""Copying a whole state between databases of either engine (``monitor export-state`` and
``import-state``, :mod:`monitor.cli_state`): the tables to copy and their columns, read from
the database's own catalog; their rows, streamed from one snapshot; and the rows inserted into
an empty target, in foreign-key order, in the caller's transaction.

Derived tables are never copied, the target rebuilds them: the full-text index and its backfill
cursor (:func:`finish_import` marks it for a rebuild), the shared story band index (rebuilt from
``articles.signature`` when empty), the replicas' heartbeats, the schema version (the target's
own migrations wrote it) and SQLite's internal and FTS5 shadow tables.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.errors import StoreError
from monitor.store.db import Target, is_postgres, is_url, open_read_only

DERIVED = frozenset({"article_search", "search_backfill", "schema_version", "story_band_keys",
                     "replicas"})
"""Tables the target rebuilds rather than copies."""
_DERIVED_PREFIXES = ("sqlite_", "article_search_")      # SQLite internals, FTS5 shadow tables
_BATCH = 500


@dataclass(frozen=True)
class Table:
    """One copied table as the catalog describes it."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]                # primary key columns: row order, deferred updates
    parents: frozenset[str]             # other tables its foreign keys point at
    self_refs: tuple[str, ...] = ()     # columns pointing into the table itself (outbox.digest_id)
    identity: str | None = None         # PostgreSQL's generated id column, whose sequence moves


def _q(name: str) -> str:
    """An identifier quoted for either engine (names come from the catalog, never from input)."""
    return '"' + name.replace('"', '""') + '"'


def _derived(name: str) -> bool:
    return name in DERIVED or name.startswith(_DERIVED_PREFIXES)


def copied_tables(conn: Any) -> list[Table]:
    """The tables a dump holds, parents before children (a foreign key's table comes first)."""
    found = _pg_tables(conn) if is_postgres(conn) else _sqlite_tables(conn)
    return _fk_order([t for t in found if not _derived(t.name)])


def _sqlite_tables(conn: sqlite3.Connection) -> list[Table]:
    out = []
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "ORDER BY name")]
    for name in names:
        if _derived(name):      # PRAGMA table_info of an FTS5 table's shadows is not wanted
            continue
        cols = conn.execute(f"PRAGMA table_info({_q(name)})").fetchall()
        fks = conn.execute(f"PRAGMA foreign_key_list({_q(name)})").fetchall()
        key = tuple(c[1] for c in sorted((c for c in cols if c[5]), key=lambda c: c[5]))
        out.append(Table(name, tuple(c[1] for c in cols), key,
                         frozenset(f[2] for f in fks if f[2] != name),
                         tuple(dict.fromkeys(f[3] for f in fks if f[2] == name))))
    return out


def _pg_tables(conn: Any) -> list[Table]:
    names = [r[0] for r in conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_type = 'BASE TABLE' ORDER BY table_name")]
    fks: dict[str, list[tuple[str, str]]] = {}
    for child, parent, column in conn.execute(
            "SELECT c.relname, p.relname, a.attname FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid "
            "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey) "
            "WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace"):
        fks.setdefault(child, []).append((parent, column))
    out = []
    for name in names:
        # Generated columns (the search index's tsvectors) are computed by the server.
        cols = conn.execute("SELECT column_name, is_identity FROM information_schema.columns "
                            "WHERE table_schema = current_schema() AND table_name = ? AND "
                            "is_generated = 'NEVER' ORDER BY ordinal_position", (name,)).fetchall()
        key = tuple(r[0] for r in conn.execute(
            "SELECT k.column_name FROM information_schema.table_constraints c "
            "JOIN information_schema.key_column_usage k ON k.constraint_name = c.constraint_name "
            "AND k.table_schema = c.table_schema AND k.table_name = c.table_name "
            "WHERE c.table_schema = current_schema() AND c.table_name = ? "
            "AND c.constraint_type = 'PRIMARY KEY' ORDER BY k.ordinal_position", (name,)))
        refs = fks.get(name, [])
        out.append(Table(name, tuple(r[0] for r in cols), key,
                         frozenset(p for p, _ in refs if p != name),
                         tuple(dict.fromkeys(c for p, c in refs if p == name)),
                         next((r[0] for r in cols if r[1] == "YES"), None)))
    return out


def _fk_order(tables: list[Table]) -> list[Table]:
    """Tables sorted so that each comes after the tables it references (by name among equals,
    so both engines list the same schema in the same order)."""
    left = {t.name: t for t in tables}
    ordered: list[Table] = []
    while left:
        ready = sorted(n for n, t in left.items() if not (t.parents & left.keys()))
        if not ready:
            raise StoreError("the state's tables reference each other in a cycle ("
                             f"{', '.join(sorted(left))}): cannot order them for a copy")
        ordered += [left.pop(n) for n in ready]
    return ordered


def shape_problem(tables: Sequence[Table], dump: dict[str, list[str]]) -> str | None:
    """What keeps a dump's tables (name → columns, in the dump's order) from loading into these
    tables, or None: the same tables and columns, each after the tables it references."""
    mine = {t.name: t for t in tables}
    if set(dump) != set(mine):
        return (f"the dump's tables differ: only in the dump {sorted(set(dump) - set(mine))}, "
                f"only in the target {sorted(set(mine) - set(dump))}")
    order = list(dump)
    for name, columns in dump.items():
        if set(columns) != set(mine[name].columns):
            return (f"table {name} has the columns {columns} in the dump, "
                    f"{list(mine[name].columns)} in the target")
        late = sorted(p for p in mine[name].parents if order.index(p) > order.index(name))
        if late:
            return (f"table {name} comes before {late[0]}, which it references: the dump was "
                    "not written by export-state")
    return None


def schema_version(conn: Any) -> int:
    """The schema version of a database as it is (no migration): 0 before any."""
    if not is_postgres(conn):
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    if conn.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:
        return 0
    return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])


def version_before(target: Target) -> int | None:
    """The schema version of a state before it is opened (and so migrated), or None when a
    SQLite file does not exist yet."""
    if not is_url(target) and not Path(target).exists():
        return None
    conn = open_read_only(target)
    try:
        return schema_version(conn)
    finally:
        conn.close()


@contextmanager
def snapshot(conn: Any) -> Iterator[None]:
    """One consistent read of every table (what a running daemon commits meanwhile is not
    seen), on a read-only connection of :func:`monitor.store.db.open_read_only`."""
    if is_postgres(conn):
        with conn.raw.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
        return
    conn.execute("BEGIN")       # WAL: the first read fixes what this transaction sees
    try:
        yield
    finally:
        conn.execute("ROLLBACK")


def stream_rows(conn: Any, table: Table) -> Iterator[tuple[Any, ...]]:
    """The rows of a table, in key order, as tuples of its columns; read a batch at a time
    (inside :func:`snapshot`), never all at once."""
    sql = (f"SELECT {', '.join(map(_q, table.columns))} FROM {_q(table.name)}"
           + (f" ORDER BY {', '.join(map(_q, table.key))}" if table.key else ""))
    if is_postgres(conn):
        # psycopg's plain cursor holds a whole result in memory: a server-side one streams.
        with conn.raw.cursor(name=f"export_{table.name}") as cur:
            cur.itersize = _BATCH
            cur.execute(sql)
            for row in cur:
                yield tuple(row)
        return
    cur = conn.execute(sql)
    while rows := cur.fetchmany(_BATCH):
        for row in rows:
            yield tuple(row)


def row_counts(conn: Any, names: Sequence[str]) -> dict[str, int]:
    """How many rows each of these tables holds."""
    return {n: int(conn.execute(f"SELECT COUNT(*) FROM {_q(n)}").fetchone()[0]) for n in names}


def occupied(conn: Any, tables: Sequence[Table]) -> dict[str, int]:
    """The copied tables that already hold rows, with their counts (an import refuses them)."""
    full = [t.name for t in tables
            if conn.execute(f"SELECT 1 FROM {_q(t.name)} LIMIT 1").fetchone() is not None]
    return row_counts(conn, full)


class Loader:
    """Inserts one table's rows (in the caller's transaction), in batches. A column pointing
    into its own table is written after all the rows, as an update: a digest's outbox row is
    created after the rows it folds, so ``digest_id`` points at a later row than its own and
    an insert in id order would break the foreign key (immediate on both engines)."""

    def __init__(self, conn: Any, table: Table, columns: Sequence[str]) -> None:
        if table.self_refs and not table.key:
            raise StoreError(f"table {table.name} references itself without a primary key")
        self.conn, self.table, self.columns = conn, table, list(columns)
        self._deferred = [i for i, c in enumerate(columns) if c in table.self_refs]
        self._key = [self.columns.index(k) for k in table.key] if self._deferred else []
        self._sql = (f"INSERT INTO {_q(table.name)} ({', '.join(map(_q, columns))}) "
                     f"VALUES ({', '.join('?' * len(columns))})")
        self._batch: list[tuple[Any, ...]] = []
        self._later: list[tuple[str, Any, tuple[Any, ...]]] = []
        self.count = 0

    @property
    def pending(self) -> int:
        """Rows queued and not yet written (those of a batch the database refused)."""
        return len(self._batch)

    def add(self, row: Sequence[Any]) -> None:
        """Queue one row (values in the order of ``columns``); a full batch is written."""
        if self._deferred:
            row = list(row)
            for i in self._deferred:
                if row[i] is not None:
                    self._later.append((self.columns[i], row[i],
                                        tuple(row[k] for k in self._key)))
                    row[i] = None
        self._batch.append(tuple(row))
        if len(self._batch) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self.conn.executemany(self._sql, self._batch)
            self.count += len(self._batch)
            self._batch = []

    def finish(self) -> int:
        """Write what is queued and the deferred self-references; the rows inserted."""
        self._flush()
        where = " AND ".join(f"{_q(k)} = ?" for k in self.table.key)
        for column, value, key in self._later:
            self.conn.execute(f"UPDATE {_q(self.table.name)} SET {_q(column)} = ? WHERE {where}",
                              (value, *key))
        self._later = []
        return self.count


def finish_import(conn: Any, tables: Sequence[Table]) -> None:
    """After the rows (same transaction): move each PostgreSQL id sequence past the largest
    imported id (or the daemon's next insert collides), empty the derived indexes and mark
    the search index for a full rebuild."""
    if is_postgres(conn):
        for t in tables:
            if t.identity:
                # is_called false: the next id handed out is MAX + 1 (1 for an empty table).
                conn.execute(f"SELECT setval(pg_get_serial_sequence(?, ?), "
                             f"COALESCE(MAX({_q(t.identity)}), 0) + 1, false) FROM {_q(t.name)}",
                             (t.name, t.identity))
    conn.execute("DELETE FROM story_band_keys")     # rebuilt from the signatures when empty
    conn.execute("DELETE FROM article_search")
    last = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM articles").fetchone()[0])
    # format '' is no normalisation: the daemon's start (ensure_format) re-indexes everything.
    if not conn.execute("UPDATE search_backfill SET format = '', done = 0, upto = ? WHERE id = 1",
                        (last,)).rowcount:
        conn.execute("INSERT INTO search_backfill(id, format, done, upto) VALUES (1, '', 0, ?)",
                     (last,))
