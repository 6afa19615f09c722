"""Replicas on PostgreSQL against one daemon on SQLite: 304 polling and the cold start.

    python -m benchmarks bench_replicas [--feeds 10000] [--interval 60] [--intervals 3]
                                        [--cold-feeds 50] [--cold-items 20] [--quick] [--json PATH]

Real ``monitor run`` processes (benchmarks/daemons.py), one PostgreSQL 15 server started for the
run (tests/servers/postgres.py: fsync off, as in the tests), feeds from benchmarks/feedserver.py
in a process of its own. Everything is measured in the same run, SQLite being the baseline.

1. Polling: ``--feeds`` feeds, each polled every ``--interval`` s (fixed, jitter 0), first a
   sweep of 200 + ETag, then 304 for ever. Three configurations one after the other: one daemon
   on SQLite, one replica on PostgreSQL, two replicas on the same PostgreSQL. Over ``--intervals``
   intervals: CPU of the replica processes (/proc utime+stime) per 304 poll (their own
   ``monitor_polls_total{outcome="not_modified"}``), the PostgreSQL server's CPU (its whole
   process tree, found from its data folder), polls/s, each replica's peak RSS (VmHWM), and with
   two replicas whether they split the feeds without polling any twice.
2. Cold start: ``--cold-feeds`` × ``--cold-items`` new articles with pages (extraction on, 2
   workers), one daemon on SQLite and one on PostgreSQL: articles/s, the daemon process's CPU per
   article, the server's CPU, peak RSS.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, FeedServer, Row, dump, print_rows, proc_cpu  # noqa: E402
from benchmarks.daemons import Daemon, postmaster_pid, tree_cpu, wait_for, write_config  # noqa: E402

NAME = "8 replicas"


def config(server: FeedServer, feeds: int, interval: float, concurrency: int,
           workers: int) -> dict:
    """The daemon's monitor.yaml: fixed intervals without jitter (so the check below is exact),
    surges and notices off (leader-only jobs: they would make one replica's load different)."""
    return {"rules_path": str(REPO / "rules"),
            "poll": {"interval_seconds": interval, "min_interval_seconds": interval,
                     "max_interval_seconds": interval, "jitter_seconds": 0,
                     "concurrency": concurrency},
            # every feed is on one host here; real feeds are on hundreds of hosts
            "fetch": {"allow_addresses": [f"127.0.0.1:{server.port}"], "per_host_concurrency": 16},
            "extract": {"workers": workers}, "parse": {"workers": min(workers, 1)},
            "alerts": {"sink": "jsonl", "jsonl_path": "alerts.jsonl"},
            "ops": {"notices": False}, "surges": {"enabled": False},
            "feeds": [{"name": f"feed{i}", "url": server.feed_url(i)} for i in range(feeds)]}


class Pg:
    """The run's PostgreSQL server: a fresh database per configuration, its CPU."""

    def __init__(self, srv) -> None:
        self.srv, self.pid = srv, postmaster_pid(srv.data)

    def database(self) -> str:
        return self.srv.database()

    def cpu(self) -> float:
        return tree_cpu(self.pid)

    def last_polled(self, url: str) -> dict[str, float]:
        import psycopg

        with psycopg.connect(url) as conn:
            return {n: t or 0.0 for n, t in conn.execute("SELECT name, last_polled_at FROM feeds")}


def sqlite_last_polled(path: str) -> dict[str, float]:
    import sqlite3

    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return {n: t or 0.0 for n, t in conn.execute("SELECT name, last_polled_at FROM feeds")}


def polling(tmp: Path, server: FeedServer, pg: Pg | None, replicas: int, feeds: int,
            interval: float, intervals: int, concurrency: int) -> dict:
    """One configuration of the polling part; figures over the measured window."""
    folder = tmp / f"poll-{'pg' if pg else 'sqlite'}-{replicas}"
    write_config(folder, config(server, feeds, interval, concurrency, 0))
    url = pg.database() if pg else str(folder / "state" / "monitor.db")
    last_polled = (lambda: pg.last_polled(url)) if pg else (lambda: sqlite_last_polled(url))
    daemons = [Daemon(folder, f"r{i + 1}", url) for i in range(replicas)]
    try:
        wait_for(lambda: all(d.samples() for d in daemons), 180, "the replicas' ops servers")
        ok = lambda: sum(d.polls("ok") for d in daemons)  # noqa: E731
        s0 = wait_for(lambda: ok() > 0, 120, "a first poll")
        s1 = wait_for(lambda: ok() >= feeds, 30 * interval, "the first sweep", step=0.5)
        sweep = s1 - s0
        # With fixed intervals and no jitter the first sweep sets every feed's rhythm: its polls
        # come back every interval in the same order. The window starts in the middle of the
        # quiet gap between two sweeps, so it holds exactly `intervals` polls of every feed.
        time.sleep(max(0.0, interval - sweep) / 2)
        before = last_polled()
        n0 = [d.polls("not_modified") for d in daemons]
        f0 = sum(d.polls("failed") for d in daemons)
        c0, p0, v0, w0 = [d.cpu() for d in daemons], pg.cpu() if pg else 0.0, server.cpu(), \
            time.time()
        time.sleep(intervals * interval)
        wall = time.time() - w0
        cpu = sum(d.cpu() - c for d, c in zip(daemons, c0, strict=True))
        pg_cpu = pg.cpu() - p0 if pg else 0.0
        server_cpu = server.cpu() - v0
        per = [int(d.polls("not_modified") - n) for d, n in zip(daemons, n0, strict=True)]
        failed = int(sum(d.polls("failed") for d in daemons) - f0)
        rss = [d.peak_rss_mb() for d in daemons]
        after = last_polled()
    finally:
        for d in daemons:
            d.stop()
    polls = sum(per)
    return {"sweep": sweep, "wall": wall, "cpu": cpu, "pg_cpu": pg_cpu, "server_cpu": server_cpu,
            "polls": polls, "per": per, "failed": failed, "rss": rss,
            "unpolled": sum(1 for n, t in after.items() if t <= before.get(n, 0.0)),
            "expected": feeds * intervals}


def cold_start(tmp: Path, server: FeedServer, pg: Pg | None, feeds: int, items: int,
               workers: int) -> dict:
    """One daemon's first poll of every feed, up to the last article done."""
    folder = tmp / f"cold-{'pg' if pg else 'sqlite'}"
    write_config(folder, config(server, feeds, 3600.0, 8, workers))
    url = pg.database() if pg else str(folder / "state" / "monitor.db")
    d = Daemon(folder, "cold", url)
    n = feeds * items
    try:
        # Polling starts as the ops server comes up: that is the start of the clock.
        t0 = wait_for(lambda: d.samples(), 180, "the ops server", step=0.05)
        own0, all0, p0 = proc_cpu(d.pid), d.cpu(), pg.cpu() if pg else 0.0
        t1 = wait_for(lambda: d.articles() >= n, 1800, f"{n} articles done", step=0.25)
        own, total = proc_cpu(d.pid) - own0, d.cpu() - all0
        pg_cpu = pg.cpu() - p0 if pg else 0.0
        rss, workers_rss = d.peak_rss_mb(), d.workers_peak_rss_mb()
        done = d.articles()
    finally:
        d.stop()
    return {"wall": t1 - t0, "own": own, "workers": total - own, "pg_cpu": pg_cpu, "rss": rss,
            "workers_rss": workers_rss, "done": done}


def polling_rows(a: dict, b: dict, c: dict, feeds: int, interval: float, intervals: int,
                 concurrency: int) -> list[Row]:
    ms = lambda r, server=False: (r["cpu"] + (r["pg_cpu"] if server else 0)) / max(1, r["polls"]) * 1000  # noqa: E731,E501
    base = ms(a)
    setup = (f"{feeds:,} feeds every {interval:g} s, {intervals} intervals measured, "
             f"poll.concurrency {concurrency}, no extraction workers")

    def note(r: dict) -> str:
        return (f"{r['polls']:,} polls answered 304 in {r['wall']:.0f} s "
                f"({' + '.join(f'{p:,}' for p in r['per'])} per replica), {r['failed']} failed; "
                f"replica CPU {r['cpu']:.1f} s, PostgreSQL server {r['pg_cpu']:.1f} s, feed server "
                f"{r['server_cpu']:.1f} s; first sweep (200 + ETag) {r['sweep']:.1f} s"
                + (" — longer than 0.8 interval: the window is not aligned with the sweeps and "
                   "the daemon is near saturation" if r["sweep"] > 0.8 * interval else ""))

    split = c["polls"] / c["expected"]
    shares = " / ".join(f"{p / max(1, c['polls']) * 100:.1f} %" for p in c["per"])
    rows = [Row(NAME, "CPU per 304 poll, one daemon on SQLite", base, "ms", "—", None, None, "—",
                None, f"{setup}; {note(a)}")]
    for label, r in (("one replica on PostgreSQL", b), ("two replicas on PostgreSQL", c)):
        rows += [
            Row(NAME, f"CPU per 304 poll, {label} (replica processes)", ms(r), "ms",
                "SQLite daemon", base, ms(r) / base, "—", None, note(r)),
            Row(NAME, f"CPU per 304 poll, {label} + PostgreSQL server", ms(r, True), "ms",
                "SQLite daemon", base, ms(r, True) / base, "—", None,
                f"the server used {r['pg_cpu'] / r['wall']:.2f} cores"),
        ]
    rows += [
        # Only replicas that keep up with the schedule can show a double poll in this total
        # (it would push the ratio towards 2); saturated ones poll fewer feeds than are due,
        # and the ratio is then their capacity: no verdict rather than a wrong one.
        Row(NAME, "two replicas: 304 polls ÷ (feeds × intervals)", split, "×",
            "one poll per feed per interval", 1.0, split, "≈ 1 (not 2), every feed polled",
            None if split < 0.97 else split <= 1.03 and c["unpolled"] == 0 and min(c["per"]) > 0,
            f"shares {shares}; {c['unpolled']} feeds not polled in the window; one replica on "
            f"PostgreSQL: {b['polls'] / b['expected']:.3f}×, SQLite {a['polls'] / a['expected']:.3f}×"
            + ("; saturated (fewer polls than due): double polls cannot show in this total"
               if split < 0.97 else "")),
        Row(NAME, "polls per second, two replicas on PostgreSQL", c["polls"] / c["wall"], "polls/s",
            "SQLite daemon", a["polls"] / a["wall"], c["polls"] / c["wall"] / (a["polls"] / a["wall"]),
            "—", None, f"one replica {b['polls'] / b['wall']:.1f}/s; the schedule's rate is "
            f"{feeds / interval:.1f}/s: every configuration kept up with it"
            if max(r["sweep"] for r in (a, b, c)) < interval else "the schedule's rate is "
            f"{feeds / interval:.1f}/s, and a first sweep took longer than an interval"),
        # The only capacity figure: at the first sweep every feed is due at once, so the polls
        # go as fast as the replicas (and the feed server, on the same two cores) can make them.
        Row(NAME, "first sweep, all feeds due at once: polls/s, two replicas", feeds / c["sweep"],
            "polls/s", "SQLite daemon", feeds / a["sweep"], a["sweep"] / c["sweep"], "—", None,
            f"one replica on PostgreSQL {feeds / b['sweep']:.0f}/s; 200 + ETag with an empty "
            f"feed, parsed; {feeds:,} feeds in {c['sweep']:.1f} s (SQLite {a['sweep']:.1f} s); "
            "timed from the first to the last first poll, to 0.5 s"),
        Row(NAME, "peak RSS per replica, two replicas on PostgreSQL", max(c["rss"]), "MB",
            "SQLite daemon", a["rss"][0], max(c["rss"]) / a["rss"][0], "—", None,
            f"one replica on PostgreSQL {b['rss'][0]:.1f} MB; two: "
            + " / ".join(f"{x:.1f}" for x in c["rss"]) + " MB (VmHWM of each process)"),
    ]
    return rows


def cold_rows(s: dict, p: dict, feeds: int, items: int, workers: int) -> list[Row]:
    n = feeds * items
    rate = lambda r: r["done"] / r["wall"]  # noqa: E731
    per = lambda r, server=False: (r["own"] + (r["pg_cpu"] if server else 0)) / max(1, r["done"]) * 1000  # noqa: E731,E501

    def note(r: dict) -> str:
        return (f"{r['done']:.0f}/{n} articles in {r['wall']:.1f} s; CPU: daemon {r['own']:.1f} s,"
                f" {workers} extraction (+1 parse) workers {r['workers']:.1f} s, PostgreSQL server "
                f"{r['pg_cpu']:.1f} s; workers' peak RSS {r['workers_rss']:.0f} MB")

    sizes = f"{feeds} feeds × {items} items (smaller than bench_pipeline's 200 × 50, to stay short)"
    return [
        Row(NAME, "cold start, SQLite: throughput", rate(s), "articles/s", "—", None, None, "—",
            None, f"{sizes}; {note(s)}"),
        Row(NAME, "cold start, PostgreSQL: throughput", rate(p), "articles/s", "SQLite",
            rate(s), rate(p) / rate(s), "—", None, note(p)),
        Row(NAME, "cold start: daemon CPU per article, PostgreSQL", per(p), "ms", "SQLite",
            per(s), per(p) / per(s), "—", None,
            f"with the PostgreSQL server's CPU: {per(p, True):.2f} ms "
            f"({per(p, True) / per(s):.2f}× SQLite)"),
        Row(NAME, "cold start: daemon peak RSS, PostgreSQL", p["rss"], "MB", "SQLite", s["rss"],
            p["rss"] / s["rss"], "—", None, "VmHWM of the daemon's own process"),
    ]


def run(feeds: int = 10_000, interval: float = 60.0, intervals: int = 3, concurrency: int = 16,
        cold_feeds: int = 50, cold_items: int = 20, workers: int = 2) -> list[Row]:
    from tests.servers import postgres

    if postgres.binaries() is None:
        print(f"{NAME}: skipped, PostgreSQL is not installed (initdb/pg_ctl not found; "
              "apt-get install postgresql)", file=sys.stderr)
        return []
    logging.disable(logging.INFO)
    with postgres.running() as srv, tempfile.TemporaryDirectory() as tmpdir:
        tmp, pg = Path(tmpdir), Pg(srv)
        with FeedServer(feeds, 0) as server:
            args = (feeds, interval, intervals, concurrency)
            a = polling(tmp, server, None, 1, *args)
            b = polling(tmp, server, pg, 1, *args)
            c = polling(tmp, server, pg, 2, *args)
        with FeedServer(cold_feeds, cold_items) as server:
            s = cold_start(tmp, server, None, cold_feeds, cold_items, workers)
            p = cold_start(tmp, server, pg, cold_feeds, cold_items, workers)
    return (polling_rows(a, b, c, feeds, interval, intervals, concurrency)
            + cold_rows(s, p, cold_feeds, cold_items, workers))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=10_000)
    ap.add_argument("--interval", type=float, default=60.0, help="each feed's poll interval, s")
    ap.add_argument("--intervals", type=int, default=3, help="intervals measured")
    ap.add_argument("--concurrency", type=int, default=16, help="poll.concurrency")
    ap.add_argument("--cold-feeds", type=int, default=50)
    ap.add_argument("--cold-items", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2, help="extraction workers (cold start)")
    ap.add_argument("--quick", action="store_true",
                    help="1,000 feeds every 20 s for 2 intervals; cold start 10 × 20")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if args.quick:
        args.feeds, args.interval, args.intervals = 1000, 20.0, 2
        args.cold_feeds, args.cold_items = 10, 20
    rows = run(args.feeds, args.interval, args.intervals, args.concurrency, args.cold_feeds,
               args.cold_items, args.workers)
    print_rows(rows)
    dump(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
