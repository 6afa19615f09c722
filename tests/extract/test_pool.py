"""The extraction pool's utilisation accounting (the monitor_extraction_busy_seconds metric)."""

from __future__ import annotations

import asyncio
import time

from monitor.extract.pool import ExtractorPool
from monitor.ops.metrics import METRICS
from tests.builders import PARAS, page


def test_busy_seconds_count_each_worker_once_while_it_has_a_page():
    html = page("يفكوروف في بنغازي", PARAS)
    pool = ExtractorPool(1, 60)
    metric0 = METRICS.registry.get_sample_value("monitor_extraction_busy_seconds_total") or 0.0

    async def go() -> float:
        started = time.monotonic()
        # Six pages for one worker: two are in flight at any time, but one worker is busy.
        results = await asyncio.gather(*(pool.extract(html, f"https://x.example/{i}")
                                         for i in range(6)))
        assert all("يفكوروف" in r.title for r in results)
        return time.monotonic() - started

    try:
        wall = asyncio.run(go())
        busy = pool.busy_seconds
    finally:
        pool.close()
    assert 0.9 * wall <= busy <= wall + 0.01
    metric = METRICS.registry.get_sample_value("monitor_extraction_busy_seconds_total")
    assert abs((metric - metric0) - busy) < 0.01
