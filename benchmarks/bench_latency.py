"""Alert latency: an item appears in a feed polled every 2 s; time until Telegram has the message.

    python benchmarks/bench_latency.py [--items 12] [--json PATH]

The real daemon (``monitor run``, a subprocess with 2 extraction processes and the shipped rules)
polls one feed every 2 s (no jitter) and sends to the fake Telegram Bot API of tests/servers.
Every few seconds (at a random phase of the poll cycle) a new matching item is added; latency is
from the moment the item is served to the moment the fake Telegram server records the message.
Baseline: the poll interval itself (the expected wait for the next poll is half of it).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import REPO, Row, dump, median, percentile, print_rows, wait_until  # noqa: E402

INTERVAL = 2.0


def run(items: int = 12) -> list[Row]:
    from tests.builders import PARAS, page, rss
    from tests.servers.http import TestServer
    from tests.servers.telegram import FakeTelegram

    rng = random.Random(4)
    with TestServer() as server, FakeTelegram() as tg, tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        feed_items: list[dict[str, str]] = []
        server.static("/feed.xml", rss(feed_items))
        (tmp / "monitor.yaml").write_text(
            f"database: {tmp / 'monitor.db'}\nrules_path: {REPO / 'rules'}\n"
            "poll: {min_interval_seconds: 1, jitter_seconds: 0}\n"
            f"fetch: {{allow_addresses: ['127.0.0.1:{server.port}']}}\n"
            "extract: {workers: 2}\n"
            f"alerts: {{sink: telegram, api_base_url: '{tg.base_url}',"
            " destinations: {default: {chat_id: '@bench'}}}\n"
            "ops: {notices: false, enabled: false}\nstories: {enabled: false}\n"
            f"feeds:\n  - {{name: f, url: '{server.url('/feed.xml')}', "
            f"interval_seconds: {INTERVAL}}}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        env["TELEGRAM_BOT_TOKEN"] = "123456:BENCHMARKTOKEN"
        log = (tmp / "daemon.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "monitor", "--config",
                                 str(tmp / "monitor.yaml"), "run"], cwd=tmp, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        latencies = []
        try:
            assert wait_until(lambda: server.hits("/feed.xml") >= 2, 60), "daemon never polled"
            for i in range(items):
                time.sleep(INTERVAL + rng.uniform(0, INTERVAL))
                server.static(f"/a{i}.html", page(f"يفكوروف في بنغازي {i}", PARAS).encode(),
                              "text/html")
                feed_items.insert(0, {"title": f"يفكوروف في بنغازي {i}",
                                      "link": server.url(f"/a{i}.html"), "guid": f"g{i}"})
                before = len([r for r in tg.timed_requests if r[0].lower() == "sendmessage"])
                server.static("/feed.xml", rss(feed_items))
                t0 = time.monotonic()
                sent = wait_until(lambda b=before: len(
                    [r for r in tg.timed_requests if r[0].lower() == "sendmessage"]) > b, 30,
                                  0.02)
                if not sent:
                    latencies.append(float("inf"))
                    continue
                stamp = [r for r in tg.timed_requests if r[0].lower() == "sendmessage"][before][2]
                latencies.append(stamp - t0)
        finally:
            proc.terminate()
            proc.wait(30)
    med, p95 = median(latencies), percentile(latencies, 0.95)
    note = f"{len(latencies)} items: " + ", ".join(f"{x:.2f}" for x in latencies) + " s"
    return [
        Row("4 alert latency", "median", med, "s", "poll interval", INTERVAL, med / INTERVAL,
            "—", None, note),
        Row("4 alert latency", "p95", p95, "s", "poll interval", INTERVAL, p95 / INTERVAL,
            "< 4 s", p95 < INTERVAL + 2, ""),
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=12)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    rows = run(args.items)
    print_rows(rows)
    dump(rows, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
