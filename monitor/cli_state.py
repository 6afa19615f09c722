"""``monitor migrate``, ``export-state`` and ``import-state``: bring a state to this program's
schema, and move a whole state between databases of either engine (SQLite → PostgreSQL and
back, docs/postgresql.md). The SQL is in :mod:`monitor.store.transfer`; this module holds the
dump format and what the commands print.

A dump is JSON lines (gzip-compressed as ``FILE.gz``): a header (format version, schema version,
source engine, the tables with their columns in foreign-key order), a line per row ``{"t":
table, "r": [values]}`` (bytes as ``{"$base64": ...}``) and an end line with each table's count,
so a truncated dump is refused rather than half imported. URLs are shown without password.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from monitor.errors import MonitorError, StoreError
from monitor.report import table
from monitor.store import db as state_db
from monitor.store import transfer
from monitor.store.db import STORE_ERRORS, display, is_postgres, is_url, open_database
from monitor.store.postgres import redact

FORMAT = "monitor-state"
FORMAT_VERSION = 1
_BYTES = "$base64"


def register(sub: Any) -> None:
    """Register ``migrate``, ``export-state`` and ``import-state``."""
    _command(sub, "migrate", cmd_migrate, "apply the schema migrations to the state database "
                                          "and print its schema version before and after")
    exp = _command(sub, "export-state", cmd_export_state, "write the whole state to a dump file "
                                                          "(for import-state, on either engine)")
    exp.add_argument("-o", "--output", required=True, type=Path, metavar="FILE",
                     help="the dump to write: JSON lines, gzip-compressed when FILE ends in .gz")
    imp = _command(sub, "import-state", cmd_import_state, "fill an empty state database from a "
                                                          "dump of export-state")
    imp.add_argument("dump", type=Path, metavar="FILE", help="the dump of export-state")


def _command(sub: Any, name: str, func: Any, text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=text)
    p.add_argument("--database", metavar="TARGET",
                   help="a SQLite file or a postgresql:// URL (default: the configured database; "
                        "keep a URL with a password in MONITOR_DATABASE: a command line is "
                        "visible to every user of the machine)")
    p.set_defaults(func=func)
    return p


def _target(args: argparse.Namespace) -> state_db.Target:
    value = args.database if args.database else args.settings.database
    if is_url(value):
        return str(value)
    if "://" in str(value):
        raise MonitorError(f"--database: {redact(str(value))} is neither a SQLite file path "
                           "nor a postgresql:// URL")
    return Path(value)


def _store_error(target: state_db.Target, exc: Exception) -> StoreError:
    return StoreError(f"state database {display(target)}: {redact(' '.join(str(exc).split()))}")


def cmd_migrate(args: argparse.Namespace) -> int:
    """Open (and so migrate) the state; print its schema version before and after."""
    target = _target(args)
    try:
        before = transfer.version_before(target)
        db = open_database(target)
        try:
            after, dialect = db.schema_version, db.dialect
        finally:
            db.close()
    except STORE_ERRORS as exc:
        raise _store_error(target, exc) from None
    applied = [name for v, name, _ in state_db.migrations(dialect) if (before or 0) < v <= after]
    print(f"state database {display(target)} ({dialect})")
    if before == after:
        print(f"schema version {after}: up to date, nothing to apply")
    else:
        print(f"schema version {'none (new)' if before is None else before} -> {after}: "
              f"applied {len(applied)} migration(s): {', '.join(applied)}")
    return 0


def _encode(value: Any) -> Any:
    return {_BYTES: base64.b64encode(value).decode("ascii")} \
        if isinstance(value, bytes | bytearray | memoryview) else value


def _open(path: Path, mode: str, compressed: bool) -> IO[bytes]:
    return gzip.open(path, mode) if compressed else path.open(mode)  # type: ignore[return-value]


def cmd_export_state(args: argparse.Namespace) -> int:
    """Write every copied table of the state, from one snapshot, to the dump file."""
    target, out = _target(args), args.output
    if not is_url(target) and not Path(target).exists():
        raise StoreError(f"no state database at {target}")
    part = out.with_name(out.name + ".part")    # renamed once complete: never a half dump
    counts: dict[str, int] = {}
    try:
        conn = state_db.open_read_only(target)
        try:
            with transfer.snapshot(conn), _open(part, "wb", out.suffix == ".gz") as fh:
                version, tables = transfer.schema_version(conn), transfer.copied_tables(conn)
                fh.write(_line({"format": FORMAT, "format_version": FORMAT_VERSION,
                                "schema_version": version,
                                "engine": "postgresql" if is_postgres(conn) else "sqlite",
                                "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                "tables": [{"name": t.name, "columns": list(t.columns)}
                                           for t in tables]}))
                for t in tables:
                    counts[t.name] = 0
                    for row in transfer.stream_rows(conn, t):
                        fh.write(_line({"t": t.name, "r": [_encode(v) for v in row]}))
                        counts[t.name] += 1
                fh.write(_line({"end": {"rows": counts}}))
        finally:
            conn.close()
        os.replace(part, out)
    except STORE_ERRORS as exc:
        raise _store_error(target, exc) from None
    except OSError as exc:
        raise MonitorError(f"cannot write {out}: {exc.strerror or exc}") from None
    finally:
        part.unlink(missing_ok=True)
    print(f"exported {display(target)} (schema version {version}) to {out}")
    print(table(["table", "rows"], list(counts.items())))
    print(f"{sum(counts.values())} rows in {len(counts)} tables")
    return 0


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class _Dump:
    """A dump read line by line: its header, then its rows; every error names file and line."""

    def __init__(self, path: Path) -> None:
        self.path, self.number = path, 0
        try:
            self._fh = _open(path, "rb", path.suffix == ".gz")
        except OSError as exc:
            raise MonitorError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            self._read_header(next(self._records(), None) or {})
        except BaseException:
            self.close()
            raise

    def _read_header(self, first: dict[str, Any]) -> None:
        if first.get("format") != FORMAT:
            raise MonitorError(f"{self.path} line 1: not a dump of 'monitor export-state'")
        version = first.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise MonitorError(f"{self.path} line 1: dump format {version!r} is not one this "
                               f"program reads ({FORMAT_VERSION}): upgrade the program")
        try:
            self.header, self.schema_version = first, int(first["schema_version"])
            self.tables = {str(t["name"]): [str(c) for c in t["columns"]]
                           for t in first["tables"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise MonitorError(f"{self.path} line 1: a header without a valid {exc}") from None

    def error(self, message: str) -> MonitorError:
        return MonitorError(f"{self.path} line {self.number}: {message}")

    def _records(self) -> Iterator[dict[str, Any]]:
        try:
            for raw in self._fh:
                self.number += 1
                try:
                    record = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    raise self.error(f"not a JSON line ({exc}): the dump is corrupt") from None
                if not isinstance(record, dict):
                    raise self.error("not a JSON object: the dump is corrupt")
                yield record
        except (OSError, EOFError) as exc:         # a damaged .gz
            raise self.error(f"cannot read further: {exc}") from None

    def rows(self) -> Iterator[tuple[str, list[Any]]]:
        """(table, values) of every row line, in file order; then checks the end line."""
        counts = dict.fromkeys(self.tables, 0)
        for record in self._records():
            if "end" in record:
                end = record["end"]
                ends = end.get("rows") if isinstance(end, dict) else None
                if ends != counts:
                    raise self.error(f"the end line counts {ends}, the dump holds {counts}")
                if next(self._records(), None) is not None:
                    raise self.error("a line after the end line")
                return
            name, values = record.get("t"), record.get("r")
            if name not in self.tables or not isinstance(values, list) or \
                    len(values) != len(self.tables[name]):
                raise self.error(f"not a row of a table of the header: {str(record)[:80]}")
            counts[name] += 1
            yield name, [self._decode(v) for v in values]
        raise self.error("the dump ends without its end line: it is truncated (an export "
                         "that did not finish, or a partial copy)")

    def _decode(self, value: Any) -> Any:
        if isinstance(value, dict):
            try:
                return base64.b64decode(value[_BYTES], validate=True)
            except (KeyError, TypeError, ValueError):
                raise self.error(f"a value that is no {_BYTES} bytes: {value!r}") from None
        if value is None or isinstance(value, int | float | str) and not isinstance(value, bool):
            return value
        raise self.error(f"a value of no column type: {value!r}")

    def close(self) -> None:
        self._fh.close()


def cmd_import_state(args: argparse.Namespace) -> int:
    """Fill an empty state from a dump, in one transaction, and check every table's count."""
    target, dump = _target(args), _Dump(args.dump)
    try:
        db = open_database(target)
        try:
            counts = _import(db, dump, target)
            if is_postgres(db):
                db.conn.execute("ANALYZE")     # planner statistics for the freshly loaded tables
        finally:
            db.close()
    except STORE_ERRORS as exc:
        raise _store_error(target, exc) from None
    finally:
        dump.close()
    print(f"imported {dump.path} (schema version {dump.schema_version}, from "
          f"{dump.header.get('engine', '?')}) into {display(target)}")
    print(table(["table", "rows"], list(counts.items())))
    print(f"check: every table of the target holds the dump's row count "
          f"({sum(counts.values())} rows in {len(counts)} tables)")
    print(f"search index: marked for rebuild; the daemon re-indexes the "
          f"{counts.get('articles', 0)} article(s) at start ('monitor search' does too)")
    return 0


def _import(db: Any, dump: _Dump, target: state_db.Target) -> dict[str, int]:
    if db.schema_version != dump.schema_version:
        advice = ("upgrade this program" if dump.schema_version > db.schema_version else
                  "run 'monitor migrate' on the source with this program and export again")
        raise MonitorError(f"{dump.path} line 1: the dump has schema version {dump.schema_version}, "
                           f"{display(target)} has {db.schema_version} after migration: "
                           f"{advice}")
    tables = transfer.copied_tables(db.conn)
    problem = transfer.shape_problem(tables, dump.tables)
    if problem:
        raise MonitorError(f"{dump.path} line 1: {problem} (in the target {display(target)})")
    by_name = {t.name: t for t in tables}
    order, counts = list(dump.tables), dict.fromkeys(dump.tables, 0)
    with db.transaction() as conn:
        full = transfer.occupied(conn, tables)      # in the transaction: no write slips in
        if full:
            held = ", ".join(f"{n}: {c}" for n, c in full.items())
            raise MonitorError(f"{display(target)} already holds a state (rows in {held}): "
                               "import-state only fills an empty database, since merging two "
                               "states would mix their ids; import into a new database or file")
        loader: transfer.Loader | None = None
        last = 0        # the line of the last row given to the loader
        try:
            for name, values in dump.rows():
                if loader is None or loader.table.name != name:
                    if loader is not None and order.index(name) < order.index(loader.table.name):
                        raise dump.error(f"a row of {name} after those of {loader.table.name}: "
                                         "the dump is out of order")
                    if loader is not None:
                        counts[loader.table.name] = loader.finish()
                    loader = transfer.Loader(conn, by_name[name], dump.tables[name])
                last = dump.number
                loader.add(values)
            if loader is not None:
                counts[loader.table.name] = loader.finish()
        except STORE_ERRORS as exc:
            # Rows go in batches: the refused one is among the batch's lines.
            first = last - (loader.pending - 1 if loader and loader.pending else 0)
            where = f"line {last}" if first == last else f"lines {first}-{last}"
            raise MonitorError(f"{dump.path} {where}: table {loader.table.name if loader else '?'}"
                               f" refused a row: {redact(' '.join(str(exc).split()))} (nothing "
                               "was imported)") from None
        transfer.finish_import(conn, tables)
        found = transfer.row_counts(conn, order)
        if found != counts:     # raised inside the transaction: nothing stays imported
            raise MonitorError(f"{display(target)}: the target's counts {found} differ from "
                               f"the dump's {counts}; nothing was imported")
    return counts
