"""The ``monitor`` command as a user runs it: real processes, real files."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.builders import PARAS, page, rss
from tests.servers.http import send


def monitor(*args: str, cwd: Path, timeout: float = 120, env: dict | None = None
            ) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run([sys.executable, "-m", "monitor", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, env={**clean, **(env or {})})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_help_describes_the_tool_and_its_commands(tmp_path):
    result = monitor("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # What the tool does, not the module docstring of monitor/cli.py.
    assert "Arabic press monitor" in out and "Telegram" in out and "Command line:" not in out
    for command in ("once", "run", "feeds", "status", "digest", "send-test", "backtest",
                    "labels", "rules", "score"):
        assert f"\n    {command} " in out, command
    assert "monitor once --demo" in out and "MONITOR_<SECTION>__<KEY>" in out


def test_demo_once_polls_bundled_feeds_offline(tmp_path):
    port = str(free_port())   # links embed the port: keep it across runs, as the default does
    first = monitor("once", "--demo", "--demo-port", port, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    # RSS, Atom, windows-1256 RSS, a Google News search, a Telegram channel, a news sitemap
    assert "feeds: 6 ok, 0 not modified, 0 failed" in first.stdout
    assert "new items: 23" in first.stdout and "extracted: 22" in first.stdout
    assert "fallback to summary: 1" in first.stdout
    assert (tmp_path / "state" / "demo.db").exists()
    second = monitor("once", "--demo", "--demo-port", port, cwd=tmp_path)
    assert "feeds: 0 ok, 6 not modified" in second.stdout, second.stdout
    assert "new items: 0" in second.stdout
    feeds = monitor("feeds", "--demo", cwd=tmp_path)
    assert feeds.returncode == 0 and "wasat-demo" in feeds.stdout and "sahel-cp1256-demo" in feeds.stdout
    assert "interval" in feeds.stdout.splitlines()[0]


def test_run_daemon_for_one_cycle(tmp_path):
    from tests.conftest import REPO
    result = monitor("run", "--demo", "--demo-port", "0", "--cycles", "1", cwd=tmp_path,
                     env={"MONITOR_OPS__PORT": "0", "MONITOR_RULES_PATH": str(REPO / "rules")})
    assert result.returncode == 0, result.stderr
    assert "summary: feeds: 6 ok" in result.stderr and "daemon stopped" in result.stderr
    assert "new items: 23" in result.stdout and "alert → default" in result.stdout


def test_run_stops_cleanly_on_sigterm(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--demo", "--demo-port", "0"],
                            cwd=tmp_path, env={**clean, "MONITOR_OPS__PORT": "0"},
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.time() + 60
    lines = []
    while time.time() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        if "polled feed=" in line:
            break
    proc.send_signal(signal.SIGTERM)
    started = time.time()
    assert proc.wait(timeout=30) == 0
    assert time.time() - started < 20
    assert "daemon stopped" in proc.stderr.read()


def test_bad_config_exits_2_with_file_and_line(tmp_path):
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text("poll:\n  interval_seconds: 60\n  intervall: 5\n")
    result = monitor("once", cwd=tmp_path)
    assert result.returncode == 2
    assert f"error: {cfg.name}:3: poll.intervall: unknown key" in result.stderr
    env_bad = monitor("feeds", "--config", str(cfg), cwd=tmp_path,
                      env={"MONITOR_CONFIG": "ignored.yaml"})
    assert env_bad.returncode == 2 and str(cfg) in env_bad.stderr


def test_once_with_config_file_and_feeds_table(server, tmp_path):
    server.static("/a.html", page("خبر", PARAS).encode(), "text/html")
    server.static("/feed.xml", rss([{"title": "خبر", "link": server.url("/a.html"), "guid": "1"}]))
    server.add("/down.xml", lambda h: send(h, 500, b"oops", "text/plain"))
    (tmp_path / "monitor.yaml").write_text(
        f"fetch:\n  allow_addresses: ['127.0.0.1:{server.port}']\nextract:\n  workers: 0\n"
        f"feeds:\n  - name: good\n    url: {server.url('/feed.xml')}\n"
        f"  - name: down\n    url: {server.url('/down.xml')}\n")
    result = monitor("once", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "feeds: 1 ok, 0 not modified, 1 failed" in result.stdout
    assert "HTTP 500" in result.stdout
    feeds = monitor("feeds", cwd=tmp_path)
    line = next(ln for ln in feeds.stdout.splitlines() if ln.startswith("down"))
    assert "failed" in line and "http_status" in line and "HTTP 500" in line


def test_kill_during_processing_leaves_consistent_state(server, tmp_path):
    """SIGKILL while pages are being fetched; the next run finishes the work, nothing twice."""
    slow = {"on": True}

    def article(h):
        if slow["on"]:
            time.sleep(0.4)
        send(h, 200, page("يفكوروف", PARAS).encode(), "text/html")
    items = []
    for i in range(20):
        server.add(f"/a/{i}.html", article)
        items.append({"title": f"خبر {i}", "link": server.url(f"/a/{i}.html"), "guid": f"g{i}"})
    server.static("/feed.xml", rss(items))
    (tmp_path / "monitor.yaml").write_text(
        f"fetch:\n  allow_addresses: ['127.0.0.1:{server.port}']\n  per_host_concurrency: 1\n"
        f"extract:\n  workers: 0\nfeeds:\n  - name: f\n    url: {server.url('/feed.xml')}\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "once"], cwd=tmp_path, env=clean,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "state" / "monitor.db"
    deadline = time.time() + 60
    while time.time() < deadline:
        if server.hits("/a/3.html") or server.hits("/a/4.html"):
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    statuses = [r[0] for r in conn.execute("SELECT extraction_status FROM articles")]
    conn.close()
    assert len(statuses) == 20 and "pending" in statuses
    slow["on"] = False
    result = monitor("once", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM articles WHERE extraction_status='extracted'"
                        ).fetchone()[0] == 20
    assert conn.execute("SELECT COUNT(*) FROM sightings").fetchone()[0] == 20
    conn.close()
    assert "new items: 0" in result.stdout and "extracted: " in result.stdout


def test_score_urls_fetched_and_extracted_like_the_pipeline(server, tmp_path):
    from tests.conftest import REPO
    server.static("/pos.html", page("يفكوروف في بنغازي", PARAS).encode(), "text/html")
    server.static("/neg.html", page("موسم التمور", ["انطلق موسم جني التمور في الجفرة بإنتاج وفير "
                                                    "هذا العام وسط ارتياح المزارعين."] * 3).encode(),
                  "text/html")
    env = {"MONITOR_FETCH__ALLOW_ADDRESSES": f"[127.0.0.1:{server.port}]",
           "MONITOR_RULES_PATH": str(REPO / "rules")}
    res = monitor("score", server.url("/pos.html"), server.url("/neg.html"), cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    blocks = res.stdout.split("== ")
    assert "ALERT" in blocks[1].splitlines()[1] and "no alert" in blocks[2].splitlines()[1]
    assert "«يفكوروف»" in res.stdout or "«يونس بك يفكوروف»" in res.stdout


def test_sigterm_during_startup_exits_cleanly(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--demo", "--demo-port", "0"],
                            cwd=tmp_path, env={**clean, "MONITOR_OPS__PORT": "0"},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)   # inside start-up: imports, config, database
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0


def test_ctrl_c_stops_cleanly_without_worker_tracebacks(tmp_path):
    """A terminal's Ctrl-C reaches every process of the group, extraction workers included."""
    from tests.conftest import REPO
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "run", "--demo", "--demo-port", "0"],
                            cwd=tmp_path, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True,
                            env={**clean, "MONITOR_OPS__PORT": "0",
                                 "MONITOR_RULES_PATH": str(REPO / "rules")})
    deadline = time.time() + 60
    while time.time() < deadline:
        if "polled feed=" in proc.stderr.readline():
            break
    os.killpg(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=30) == 0
    err = proc.stderr.read()
    assert "daemon stopped" in err and "Traceback" not in err
