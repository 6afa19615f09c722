"""Pipeline throughput on a cold start: feeds × items from 127.0.0.1, first poll to alerts queued.

    python benchmarks/bench_pipeline.py [--feeds 200] [--items 50] [--sample 400] [--json PATH]

The real pipeline (``open_app`` → ``run_cycle``, 2 extraction processes, the shipped rules, a
fresh database) polls every feed once; the cycle ends when every article is extracted, scored and
stored and its alerts are queued. Baselines measured in the same run: trafilatura alone on a
random sample of the same pages, one after the other in this process (its mean × the number of
pages is the sequential extraction time; half of it is the ideal time on two processes). The
share of the wall time that is not extraction is ``1 − ideal / wall``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import resource
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, FeedServer, Row, dump, print_rows  # noqa: E402


def settings_for(tmp: Path, server: FeedServer, feeds: int, workers: int, **extra: object):
    from monitor.config import load_settings

    raw = {"database": str(tmp / "state" / "monitor.db"), "rules_path": str(REPO / "rules"),
           "fetch": {"allow_addresses": [f"127.0.0.1:{server.port}"],
                     # every feed is on one host here; real feeds are on hundreds of hosts
                     "per_host_concurrency": 16},
           "extract": {"workers": workers},
           "alerts": {"sink": "jsonl", "jsonl_path": str(tmp / "alerts.jsonl")},
           "ops": {"notices": False},
           "feeds": [{"name": f"feed{i}", "url": server.feed_url(i)} for i in range(feeds)],
           **extra}
    return load_settings(None, env={}, overrides=raw)


def sequential_extraction(server: FeedServer, feeds: int, items: int, sample: int) -> float:
    """Mean seconds of trafilatura on one page, over a random sample, in this process."""
    from monitor.extract.page import extract_page
    from monitor.fetch.decode import decode_html

    rng = random.Random(7)
    pages = []
    for _ in range(sample):
        i, j = rng.randrange(feeds), rng.randrange(items)
        url = f"{server.base}/a/{i}/{j}.html"
        with urllib.request.urlopen(url) as resp:
            pages.append((decode_html(resp.read(), resp.headers.get("content-type")), url))
    extract_page(*pages[0])   # import trafilatura outside the timing
    start = time.process_time()
    for html, url in pages:
        extract_page(html, url)
    return (time.process_time() - start) / len(pages)


def run(feeds: int = 200, items: int = 50, sample: int = 400, workers: int = 2,
        stories: bool = True) -> list[Row]:
    from monitor.app import load_scorer, open_app
    from monitor.store.db import open_database

    logging.disable(logging.INFO)
    with FeedServer(feeds, items) as server, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        settings = settings_for(tmp, server, feeds, workers, stories={"enabled": stories})
        scorer = load_scorer(settings)
        server_cpu0 = server.cpu()
        kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu0 = time.process_time()

        async def go():
            async with open_app(settings, scorer) as app:
                t0 = time.perf_counter()
                stats = await app.pipeline.run_cycle(settings.feeds)
                return stats, time.perf_counter() - t0

        stats, wall = asyncio.run(go())
        main_cpu = time.process_time() - cpu0
        kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        worker_cpu = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
        server_cpu = server.cpu() - server_cpu0
        db = open_database(settings.database)
        done = db.conn.execute("SELECT COUNT(*) FROM articles WHERE extraction_status != "
                               "'pending'").fetchone()[0]
        extracted = db.conn.execute("SELECT COUNT(*) FROM articles WHERE extraction_status = "
                                    "'extracted'").fetchone()[0]
        alerts = db.conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        db.close()
        per_page = sequential_extraction(server, feeds, items, sample)
    n = feeds * items
    seq = per_page * n
    ideal = seq / max(1, workers)
    rate = done / wall
    share_other = max(0.0, 1 - ideal / wall)
    note = (f"{done}/{n} articles done ({extracted} extracted), {alerts} alerts queued, "
            f"failed feeds {stats.feeds_failed}; wall {wall:.1f} s; CPU: main process "
            f"{main_cpu:.1f} s, extraction workers {worker_cpu:.1f} s "
            f"({worker_cpu / wall:.2f} cores), server process {server_cpu:.1f} s; trafilatura "
            f"alone {per_page * 1000:.1f} ms/page")
    return [
        Row("2 pipeline", "cold-start throughput", rate, "articles/s",
            "ideal: sequential extraction / 2 workers", n / ideal, rate / (n / ideal),
            "—", None, note),
        Row("2 pipeline", "time not in extraction", share_other * 100, "% of wall",
            "ideal parallel extraction time", ideal, wall / ideal, "< 25 %",
            share_other < 0.25 and done == n, ""),
        Row("2 pipeline", "extraction cores used", worker_cpu / wall, "cores",
            "workers", float(workers), worker_cpu / wall / workers, "both cores (> 1.6)",
            worker_cpu / wall > 1.6, ""),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--sample", type=int, default=400)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-stories", action="store_true", help="story clustering off")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    rows = run(args.feeds, args.items, args.sample, args.workers, not args.no_stories)
    print_rows(rows)
    dump(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
