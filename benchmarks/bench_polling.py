"""Steady-state polling: unchanged feeds answering 304, CPU per poll cycle and requests/s.

    python benchmarks/bench_polling.py [--feeds 1000] [--cycles 3] [--json PATH]

A first cycle fetches every feed (200 with an ETag, no items); the measured cycles get 304 for
every feed. Figures: CPU seconds of this process per unchanged feed, measured twice:
  * ``monitor once``'s path: ``Pipeline.run_cycle`` over all feeds, median of ``--cycles``;
  * the daemon's path (the target): the real ``Service``, whose one polling job polls the due feeds
    (interval ``--interval`` s, default jitter), CPU over ``--cycles`` intervals divided by the
    304 polls made in them (counted by the daemon's own metrics).
Baseline in the same run: a bare httpx client doing the same conditional GETs with the same
concurrency (the floor of any httpx-based poller), in a child process of its own. The feed
server runs in its own process; its CPU is reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_pipeline import settings_for  # noqa: E402
from benchmarks.common import FeedServer, Row, dump, feed_url, median, print_rows  # noqa: E402


async def bare_httpx(urls: list[str], concurrency: int) -> None:
    import httpx

    slots = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(trust_env=False) as client:
        async def one(i: int, url: str) -> None:
            async with slots:
                resp = await client.get(url, headers={"If-None-Match": f'"feed-{i}-v1"'})
                assert resp.status_code == 304, resp.status_code
        await asyncio.gather(*(one(i, u) for i, u in enumerate(urls)))


def bare_cpu(base: str, feeds: int, concurrency: int, cycles: int) -> float:
    """Median CPU seconds of a bare httpx cycle over the feeds, measured in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--bare", base, "--feeds", str(feeds), "--cycles", str(cycles),
         "--concurrency", str(concurrency)],
        check=True, capture_output=True, text=True).stdout
    return float(json.loads(out)["cpu"])


def _bare_main(base: str, feeds: int, concurrency: int, cycles: int) -> None:
    urls = [feed_url(base, i) for i in range(feeds)]
    asyncio.run(bare_httpx(urls, concurrency))          # warm-up: imports, first connections
    cpus = []
    for _ in range(cycles):
        c0 = time.process_time()
        asyncio.run(bare_httpx(urls, concurrency))
        cpus.append(time.process_time() - c0)
    print(json.dumps({"cpu": median(cpus)}))


def polls(outcome: str) -> float:
    """The daemon's own count of polls with this outcome (monitor_polls_total)."""
    from monitor.ops.metrics import METRICS

    return METRICS.registry.get_sample_value("monitor_polls_total", {"outcome": outcome}) or 0.0


def daemon_polling(server: FeedServer, tmp: Path, feeds: int, cycles: int,
                   interval: float) -> tuple[float, int, float]:
    """(CPU seconds, 304 polls, wall seconds) of the real Service over ``cycles`` intervals."""
    from monitor.app import open_app
    from monitor.schedule.service import Service

    settings = settings_for(tmp, server, feeds, 0, ops={"enabled": False, "notices": False})
    settings = settings.model_copy(update={"feeds": [
        f.model_copy(update={"interval_seconds": interval}) for f in settings.feeds]})

    async def go() -> tuple[float, int, float]:
        async with open_app(settings, None) as app:
            service = Service(app, settings, None, summary_seconds=3600)
            running = asyncio.create_task(service.run())
            ok0 = polls("ok")
            while polls("ok") - ok0 < feeds:           # the first sweep: 200 + ETag
                await asyncio.sleep(0.1)
            c0, w0, n0 = time.process_time(), time.perf_counter(), polls("not_modified")
            await asyncio.sleep(cycles * interval)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            done = int(polls("not_modified") - n0)
            service.stop.set()
            await running
            return cpu, done, wall

    return asyncio.run(go())


def run(feeds: int = 1000, cycles: int = 3, interval: float = 10.0) -> list[Row]:
    from monitor.app import open_app

    logging.disable(logging.INFO)
    with FeedServer(feeds, 0) as server, tempfile.TemporaryDirectory() as tmpdir:
        settings = settings_for(Path(tmpdir), server, feeds, 0)

        async def go() -> tuple[list[float], list[float], float]:
            cpus, walls = [], []
            async with open_app(settings, None) as app:
                first = await app.pipeline.run_cycle(settings.feeds)
                assert first.feeds_failed == 0, first.per_feed[:3]
                server_cpu0 = server.cpu()
                for _ in range(cycles):
                    c0, w0 = time.process_time(), time.perf_counter()
                    stats = await app.pipeline.run_cycle(settings.feeds)
                    cpus.append(time.process_time() - c0)
                    walls.append(time.perf_counter() - w0)
                    assert stats.feeds_failed == 0
                return cpus, walls, (server.cpu() - server_cpu0) / cycles

        cpus, walls, server_cpu = asyncio.run(go())
        conc = settings.poll.concurrency
        bare = bare_cpu(server.base, feeds, conc, cycles)
        d_cpu, d_polls, d_wall = daemon_polling(server, Path(tmpdir) / "daemon", feeds, cycles,
                                                interval)
    cpu, wall = median(cpus), median(walls)
    per_feed_ms, bare_ms = cpu / feeds * 1000, bare / feeds * 1000
    daemon_ms = d_cpu / max(1, d_polls) * 1000
    note = (f"{feeds} feeds, median of {cycles} cycles: {cpu:.2f} s CPU, {wall:.2f} s wall; "
            f"bare httpx {bare:.2f} s CPU; "
            f"server process {server_cpu:.2f} s CPU per cycle")
    d_note = (f"{d_polls} polls answered 304 in {d_wall:.1f} s ({cycles} intervals of "
              f"{interval:g} s): {d_cpu:.2f} s CPU, scheduler and idle time included")
    return [
        Row("3 polling (304)", "CPU per unchanged feed, daemon (one polling job)", daemon_ms,
            "ms", "bare httpx conditional GET", bare_ms, daemon_ms / bare_ms, "< 2 ms",
            daemon_ms < 2.0, d_note),
        Row("3 polling (304)", "CPU per unchanged feed, `monitor once` cycle", per_feed_ms, "ms",
            "bare httpx conditional GET", bare_ms, per_feed_ms / bare_ms, "< 2 ms",
            per_feed_ms < 2.0, note),
        Row("3 polling (304)", "requests per second (`once` cycle)", feeds / wall, "req/s", "—",
            None, None, "—", None, ""),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--interval", type=float, default=10.0,
                    help="the daemon's poll interval per feed, seconds")
    ap.add_argument("--json")
    ap.add_argument("--bare", metavar="BASE_URL", help=argparse.SUPPRESS)
    ap.add_argument("--concurrency", type=int, default=8, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.bare:
        _bare_main(args.bare, args.feeds, args.concurrency, args.cycles)
        return 0
    rows = run(args.feeds, args.cycles, args.interval)
    print_rows(rows)
    dump(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
