"""A real PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` in a temporary folder,
listening on 127.0.0.1 on a free port, one fresh database per test.

The server binaries come from Debian's ``postgresql`` package (``.ci/run`` installs it). As
root, the cluster is created and run as the ``postgres`` system user, which initdb requires.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    found = shutil.which("pg_ctl")
    if found and Path(found).with_name("initdb").exists():
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(versions[0]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One running cluster; :meth:`database` makes a new empty database and gives its URL."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="monitor-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "monitor"
        self.password = "s3cret-" + uuid.uuid4().hex[:8]
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        kwargs: dict = {}
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            kwargs = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)

    def start(self) -> None:
        """initdb (password authentication, UTF-8) and pg_ctl start."""
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as_postgres:
            os.chown(pwfile, pwd.getpwnam("postgres").pw_uid, -1)
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", self.user,
                  "--pwfile", str(pwfile), "-A", "scram-sha-256", "-E", "UTF8",
                  "--locale=C.UTF-8")
        self._options = options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.root / "log"), "-o", options, "-w", "-t", "60", "start")

    def restart(self) -> None:
        """Stop the server (its sessions die; "fast" still writes what was committed, which
        fsync=off would lose in an immediate stop) and start it again on the same port."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.root / "log"), "-o", self._options, "-w", "-t", "60", "start")

    def url(self, database: str = "postgres") -> str:
        """The connection URL (with the password) of one database."""
        return f"postgresql://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def database(self) -> str:
        """A new, empty database's URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stop the server (immediately) and remove its folder."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running() -> Iterator[PostgresServer]:
    """A started server, stopped on exit; raises RuntimeError when PostgreSQL is missing."""
    bindir = binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
