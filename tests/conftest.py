"""Shared fixtures: a local HTTP server, settings pointing at it, and a guard against real network."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from monitor.app import open_app
from monitor.config import Settings, load_settings
from monitor.models import CycleStats
from tests.servers.http import TestServer

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _is_local(host: Any) -> bool:
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _is_numeric(host: str) -> bool:
    """IP literals in any spelling (2130706433, 0x7f.1) resolve without DNS."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        socket.inet_aton(host)
        return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection or DNS lookup that would leave this machine (tests are offline)."""
    real_connect = socket.socket.connect
    real_gai = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> Any:
        if isinstance(address, tuple) and not _is_local(address[0]):
            raise AssertionError(f"test tried to connect to {address!r}")
        return real_connect(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode()
        if not _is_local(host) and not _is_numeric(str(host)):
            raise AssertionError(f"test tried to resolve {host!r}")
        return real_gai(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


FAKE_TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"


@pytest.fixture
def telegram_token(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fake bot token in the environment, and PTB's timedelta mode (no deprecation warning)."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", FAKE_TOKEN)
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    return FAKE_TOKEN


@pytest.fixture
def tg() -> Any:
    """A fake Telegram Bot API server on 127.0.0.1."""
    from tests.servers.telegram import FakeTelegram

    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def server() -> Any:
    with TestServer() as srv:
        yield srv


def make_settings(tmp_path: Path, server: TestServer | None, feeds: list[dict[str, Any]],
                  **sections: Any) -> Settings:
    """Settings for a test: database under tmp_path, the test server allowed, short timeouts."""
    fetch = {"allow_addresses": [f"127.0.0.1:{server.port}"] if server else [],
             "connect_timeout": 2, "read_timeout": 2, "total_timeout": 5,
             "max_body_bytes": 300_000, **sections.pop("fetch", {})}
    extract = {"workers": 0, "timeout_seconds": 20, **sections.pop("extract", {})}
    parse = {"workers": 0, **sections.pop("parse", {})}   # in a thread: no process start per test
    raw = {"database": str(tmp_path / "state" / "monitor.db"), "rules_path": str(tmp_path / "none"),
           "fetch": fetch, "extract": extract, "parse": parse, "feeds": feeds, **sections}
    return load_settings(None, env={}, overrides=raw)


def run_cycle(settings: Settings, scorer: Any = None) -> CycleStats:
    """One poll of every configured feed, as ``monitor once`` does it."""
    async def go() -> CycleStats:
        async with open_app(settings, scorer) as app:
            return await app.pipeline.run_cycle(settings.feeds)
    return asyncio.run(go())


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run ``monitor.cli.main`` as a user would, in an empty folder without MONITOR_ variables;
    main() sets up logging: undone afterwards."""
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("MONITOR_")]:
        monkeypatch.delenv(var)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:], level = saved
    root.setLevel(level)


@pytest.fixture(scope="session")
def postgres_server() -> Any:
    """One real PostgreSQL server for the session (tests/servers/postgres.py). Skipped with the
    reason when the server binaries are not installed, except where TEST_POSTGRES is
    ``required`` (CI installs them): there a missing server fails."""
    from tests.servers import postgres

    if postgres.binaries() is None:
        reason = "PostgreSQL is not installed (initdb/pg_ctl not found; apt install postgresql)"
        if os.environ.get("TEST_POSTGRES") == "required":
            pytest.fail(reason)
        pytest.skip(reason)
    with postgres.running() as srv:
        yield srv


@pytest.fixture
def pg_url(postgres_server: Any) -> Any:
    """The URL of a new, empty PostgreSQL database; the process's pools are closed after."""
    from monitor.store import postgres

    yield postgres_server.database()
    postgres.close_pools()


@pytest.fixture(params=["sqlite", "postgresql"])
def state_target(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Where a store test keeps its state: run once on a SQLite file, once on PostgreSQL."""
    if request.param == "sqlite":
        return tmp_path / "state" / "monitor.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture(autouse=True)
def state_on_postgres(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """With TEST_STATE_ENGINE=postgresql (a second pass of .ci/run), every state database a
    test opens by file path is a fresh database on the real PostgreSQL server instead: the same
    tests then check the store's SQL on both engines. Off otherwise."""
    if os.environ.get("TEST_STATE_ENGINE") != "postgresql" or \
            request.node.get_closest_marker("sqlite_only"):
        yield
        return
    import sys

    from monitor.store import db as store_db
    from monitor.store import postgres

    server = request.getfixturevalue("postgres_server")
    urls: dict[str, str] = {}
    real_open, real_read_only = store_db.open_database, store_db.open_read_only

    def target(path: Any) -> Any:
        if store_db.is_url(path):
            return path
        key = str(Path(path).resolve())
        if key not in urls:
            urls[key] = server.database()
        return urls[key]

    def open_database(path: Any, *args: Any, **kwargs: Any) -> Any:
        return real_open(target(path), *args, **kwargs)

    def open_read_only(path: Any, *args: Any, **kwargs: Any) -> Any:
        return real_read_only(target(path), *args, **kwargs)

    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith(("monitor.", "tests.")):
            if getattr(module, "open_database", None) is real_open:
                monkeypatch.setattr(module, "open_database", open_database)
            if getattr(module, "open_read_only", None) is real_read_only:
                monkeypatch.setattr(module, "open_read_only", open_read_only)
    yield
    postgres.close_pools()
