"""Memory: RSS of the daemon while it processes a backlog of articles (20,000 by default).

    python benchmarks/bench_memory.py [--feeds 400] [--items 50] [--json PATH]

The real daemon (``monitor run`` subprocess, 2 extraction processes, shipped rules) starts on
``feeds`` × ``items`` unread items served by benchmarks/feedserver.py (its own process, small
pages). VmRSS of the daemon process is sampled every 0.2 s (extraction workers are reported
apart); progress is read from the database. Baseline: the RSS right after start-up. Targets:
RSS after all articles at most 10 % above the RSS at half of them; peak (VmHWM) under 300 MB.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import (  # noqa: E402
    REPO,
    FeedServer,
    Row,
    children,
    dump,
    print_rows,
    proc_status,
)


def processed(db: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute("SELECT COUNT(*) FROM articles WHERE extraction_status != "
                                "'pending'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return 0


def run(feeds: int = 400, items: int = 50, timeout: float = 600) -> list[Row]:
    total = feeds * items
    with FeedServer(feeds, items, page="small") as server, \
            tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        db = tmp / "monitor.db"
        feed_lines = "".join(f"  - {{name: f{i}, url: '{server.feed_url(i)}'}}\n"
                             for i in range(feeds))
        (tmp / "monitor.yaml").write_text(
            f"database: {db}\nrules_path: {REPO / 'rules'}\n"
            "poll: {interval_seconds: 3600, jitter_seconds: 0}\n"
            f"fetch: {{allow_addresses: ['127.0.0.1:{server.port}'], per_host_concurrency: 16}}\n"
            "extract: {workers: 2}\n"
            f"alerts: {{sink: jsonl, jsonl_path: {tmp / 'alerts.jsonl'}}}\n"
            "ops: {notices: false, enabled: false}\n"
            f"feeds:\n{feed_lines}")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        log = (tmp / "daemon.log").open("wb")
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config",
                                 str(tmp / "monitor.yaml"), "run"], cwd=tmp, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        samples: list[tuple[float, int, int, int]] = []   # (t, done, rss kB, workers rss kB)
        startup_rss = half_rss = final_rss = peak = 0
        try:
            while time.monotonic() - started < timeout:
                time.sleep(0.2)
                if proc.poll() is not None:
                    raise RuntimeError("daemon exited: " + (tmp / "daemon.log").read_text()[-2000:])
                st = proc_status(proc.pid)
                workers = sum(proc_status(c).get("VmRSS", 0) for c in children(proc.pid))
                done = processed(db)
                samples.append((time.monotonic() - started, done, st["VmRSS"], workers))
                peak = st["VmHWM"]
                if not startup_rss and "daemon started" in (tmp / "daemon.log").read_text():
                    startup_rss = st["VmRSS"]
                if not half_rss and done >= total // 2:
                    half_rss = st["VmRSS"]
                if done >= total:
                    time.sleep(1.0)
                    final_rss = proc_status(proc.pid)["VmRSS"]
                    peak = proc_status(proc.pid)["VmHWM"]
                    break
        finally:
            proc.terminate()
            proc.wait(60)
    elapsed = samples[-1][0] if samples else 0.0
    done = samples[-1][1] if samples else 0
    max_workers = max((s[3] for s in samples), default=0)
    growth = (final_rss - half_rss) / half_rss * 100 if half_rss and final_rss else float("nan")
    note = (f"{done}/{total} articles in {elapsed:.0f} s; RSS after start-up "
            f"{startup_rss / 1024:.0f} MB, at half {half_rss / 1024:.0f} MB, final "
            f"{final_rss / 1024:.0f} MB; extraction workers together at most "
            f"{max_workers / 1024:.0f} MB")
    return [
        Row("5 memory", "peak RSS (VmHWM)", peak / 1024, "MB", "RSS after start-up",
            startup_rss / 1024, peak / startup_rss if startup_rss else None, "< 300 MB",
            peak / 1024 < 300 and done >= total, note),
        Row("5 memory", "RSS growth, 2nd half", growth, "%", "RSS at half",
            half_rss / 1024, final_rss / half_rss if half_rss else None, "≤ 10 %",
            growth <= 10 and done >= total, ""),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=400)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    rows = run(args.feeds, args.items)
    print_rows(rows)
    dump(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
