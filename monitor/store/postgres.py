"""State in PostgreSQL (psycopg 3 with a connection pool), for several replicas sharing one state.

The store's SQL is written once, in SQLite's spelling (``?`` placeholders, ``INDEXED BY`` hints,
the ``temp`` schema); :func:`translate` turns a statement into PostgreSQL's once and caches it,
so every store module serves both engines. Where the engines really differ (full-text search,
the story band index, maintenance, the schema version) the store module asks
:func:`monitor.store.db.is_postgres` and says why next to the difference.

Rows read like :class:`sqlite3.Row` (by index and by column name), ``numeric`` results (SUM of
integers) load as int or float and booleans as 0/1, so callers cannot tell the engines apart.
Passwords never leave this module: :func:`redact` is applied to every URL it names.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.adapt import Loader
from psycopg_pool import ConnectionPool, PoolTimeout

from monitor.errors import StoreError

_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+\w+", re.IGNORECASE)
_TEMP = re.compile(r"\btemp\.", re.IGNORECASE)
_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
_PASSWORD_KV = re.compile(r"(password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with any password of a connection URL or ``password=`` pair replaced by ***."""
    return _PASSWORD_KV.sub(r"\1***", _PASSWORD.sub(r"\1***@", text))


@lru_cache(maxsize=2048)
def translate(sql: str, with_params: bool = True) -> str:
    """One statement in SQLite's spelling, in PostgreSQL's: ``?`` → ``%s`` outside string
    literals, ``%`` doubled (psycopg reads it everywhere once there are parameters), ``INDEXED
    BY`` hints dropped (the planner chooses), ``temp.`` → ``pg_temp.``."""
    sql = _TEMP.sub("pg_temp.", _INDEXED_BY.sub("", sql))
    out: list[str] = []
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "%" and with_params:
            out.append("%%")
        elif ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


class Row(tuple):
    """A result row read by position or by column name, like :class:`sqlite3.Row`."""

    _names: dict[str, int]

    def __new__(cls, values: Sequence[Any], names: dict[str, int]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:     # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """Column names in order (so ``dict(row)`` works as for sqlite3.Row)."""
        return list(self._names)


def _row_factory(cursor: psycopg.Cursor[Any]) -> Any:
    names = {c.name: i for i, c in enumerate(cursor.description or ())}
    return lambda values: Row(values, names)


class _NumberLoader(Loader):
    """``numeric`` (what SUM of integers gives) as int when whole, float otherwise."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return float(text) if ("." in text or "e" in text.lower() or text == "NaN") else int(text)


class _BoolLoader(Loader):
    """Booleans as 0/1, as SQLite's comparisons give them."""

    def load(self, data: Any) -> int:
        return 1 if bytes(data) == b"t" else 0


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_loader("numeric", _NumberLoader)
    conn.adapters.register_loader("bool", _BoolLoader)
    conn.row_factory = _row_factory


class Cursor:
    """What a store function gets back from :meth:`PgConnection.execute`."""

    def __init__(self, cur: psycopg.Cursor[Any]) -> None:
        self._cur = cur

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    @property
    def description(self) -> Any:
        return self._cur.description

    def fetchone(self) -> Any:
        return self._cur.fetchone() if self._cur.description else None

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall() if self._cur.description else []

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


class PgConnection:
    """A psycopg connection that speaks the store's SQLite-spelled SQL (see :func:`translate`)."""

    dialect = "postgresql"

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement; ``params`` bind to its ``?`` marks."""
        return Cursor(self.raw.execute(translate(sql, bool(params)), tuple(params) or None))

    def executemany(self, sql: str, rows: Any) -> Cursor:
        """Run one statement for each parameter row."""
        cur = self.raw.cursor()
        rows = list(rows)
        if rows:
            cur.executemany(translate(sql, True), rows)
        return Cursor(cur)

    def close(self) -> None:
        self.raw.close()


_POOLS: dict[str, ConnectionPool] = {}
_POOLS_LOCK = threading.Lock()


def pool(url: str) -> ConnectionPool:
    """The process's pool for ``url`` (opened on first use): the daemon's main connection, the
    replica's lock sessions and the readers' connections all come from it."""
    with _POOLS_LOCK:
        found = _POOLS.get(url)
        if found is None:
            # check: a connection handed out is tested first (after a server restart the idle
            # ones are dead, and the daemon must get a live one).
            found = ConnectionPool(url, min_size=1, max_size=8, open=True, configure=_configure,
                                   check=ConnectionPool.check_connection,
                                   kwargs={"autocommit": True}, timeout=30, name="monitor")
            _POOLS[url] = found
        return found


def close_pools() -> None:
    """Close every pool of this process (tests, between servers)."""
    with _POOLS_LOCK:
        for found in _POOLS.values():
            found.close()
        _POOLS.clear()


def probe(url: str) -> None:
    """Connect once, so a wrong host, port, password or database name is one clear error that
    names the server (without its password) rather than a pool retrying for 30 seconds."""
    try:
        psycopg.connect(url, connect_timeout=10).close()
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to the state database {redact(url)}: "
                         f"{redact(str(exc)).strip()}") from None


class PostgresDatabase:
    """The state in PostgreSQL: one connection held for the daemon's own statements (from the
    event-loop thread, as with SQLite) and short sessions from the pool for others."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = redact(url)      # what messages name
        self._pool = pool(url)
        self._raw: psycopg.Connection[Any] | None = None
        self._conn: PgConnection | None = None
        self.generation = 0      # moves with each new session: what lived on the old is gone
        # The active feed names monitor.store.feeds.set_active last wrote in the session's
        # temporary table, and the generation of that session.
        self.active_feeds: tuple[int, list[str]] = (0, [])
        self._connect()

    def _connect(self) -> None:
        try:
            self._raw = self._pool.getconn()
        except PoolTimeout as exc:
            raise StoreError(f"cannot connect to the state database {self.path}: {exc}") from None
        self._conn = PgConnection(self._raw)
        self.generation += 1

    @property
    def conn(self) -> PgConnection:
        """The daemon's connection; a new one from the pool when the server dropped the old
        (a restart or failover of PostgreSQL): the statement that failed raised, the next runs.
        What lived on the old session (the active feeds' temporary table) is written again by
        :mod:`monitor.store.leases` when it sees :attr:`generation` moved."""
        if self._raw is not None and self._raw.closed:
            self._pool.putconn(self._raw)      # the pool discards a broken connection
            self._raw = None
            self._connect()
        assert self._conn is not None
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[PgConnection]:
        """One transaction; rolled back on any exception, which is re-raised."""
        conn = self.conn
        with conn.raw.transaction():
            yield conn

    def checkout(self) -> psycopg.Connection[Any]:
        """A pooled connection held by the caller until :meth:`checkin` (the leader lock's
        session: an advisory lock lives as long as its session)."""
        return self._pool.getconn()

    def checkin(self, raw: psycopg.Connection[Any]) -> None:
        """Give back a connection from :meth:`checkout` (a broken one is discarded)."""
        self._pool.putconn(raw)

    @property
    def schema_version(self) -> int:
        row = self.conn.execute(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()
        return int(row[0])

    def close(self) -> None:
        if self._raw is not None:
            self._pool.putconn(self._raw)
            self._raw = None


def open_read_only(url: str) -> PgConnection:
    """A read-only connection of its own (outside the pool: the caller closes it), for readers
    outside the daemon's connection: backtests, metric scrapes, searches."""
    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=10,
                              options="-c default_transaction_read_only=on")
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to the state database {redact(url)}: "
                         f"{redact(str(exc)).strip()}") from None
    _configure(raw)
    return PgConnection(raw)


_TYPES = [
    (re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\b(?!\s*\()", re.I),
     "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
]
_KEEP_ID = re.compile(r"\b(\w+)\s+INTEGER\s+PRIMARY\s+KEY\s+(REFERENCES|CHECK)", re.I)


def ddl(statement: str) -> str:
    """A migration statement's SQLite column types in PostgreSQL's. An ``INTEGER PRIMARY KEY``
    that references or is checked is a plain key, not a generated id."""
    statement = _KEEP_ID.sub(r"\1 BIGINT PRIMARY KEY \2", statement)
    for pattern, replacement in _TYPES:
        statement = pattern.sub(replacement, statement)
    return statement
