"""Adaptive polling arithmetic."""

from __future__ import annotations

import pytest

from monitor.schedule.policy import delay_until_next_poll, next_interval, server_hint


@pytest.mark.parametrize("current,new,expected", [
    pytest.param(600, 3, 300, id="busy-halves"),
    pytest.param(600, 0, 900, id="quiet-grows"),
    pytest.param(130, 5, 120, id="floor"),
    pytest.param(3000, 0, 3600, id="ceiling"),
])
def test_next_interval(current, new, expected):
    assert next_interval(current, new, minimum=120, maximum=3600) == expected


def test_server_hints_only_ever_lengthen():
    assert server_hint({"cache-control": "public, max-age=1800"}, None) == 1800
    assert server_hint({}, 60) == 3600
    assert server_hint({}, None, retry_after=7200) == 7200
    assert server_hint({"cache-control": "max-age=999999"}, None) == 86400
    assert server_hint({}, None) is None
    assert delay_until_next_poll(600, 1800) == 1800
    assert delay_until_next_poll(600, 60) == 600


def _policy(**kw):
    from monitor.schedule.policy import FeedSchedule
    base = dict(interval=600.0, minimum=120.0, maximum=3600.0, fixed=False, jitter=30.0,
                backoff_base=60.0, backoff_cap=3600.0)
    return FeedSchedule(**{**base, **kw})


def test_one_policy_decides_the_next_poll():
    import random
    rng = random.Random(7)
    p = _policy()
    # Success: one interval after the poll started, up to a tenth (at most `jitter`) early.
    at = p.after_success(started=1000.0, interval=600.0, headers={}, ttl_minutes=None, rng=rng)
    assert 1000 + 600 - 30 <= at <= 1600
    # A server asking for later wins, exactly.
    assert p.after_success(started=1000.0, interval=600.0, headers={"cache-control": "max-age=1800"},
                           ttl_minutes=None, rng=rng) == 2800
    assert p.after_success(started=1000.0, interval=600.0, headers={}, ttl_minutes=60,
                           rng=rng) == 4600
    # Failures back off from the configured interval, doubling, capped; Retry-After is honoured.
    delays = [p.after_failure(now=0.0, failures=n, rng=rng) for n in (1, 2, 3, 10)]
    assert 540 <= delays[0] <= 660 and 1080 <= delays[1] <= 1320 and delays[3] <= 3600
    assert p.after_failure(now=0.0, failures=1, retry_after=3000, rng=rng) == 3000
    # A fixed interval never adapts; an adaptive one halves on news and grows when quiet.
    assert _policy(fixed=True).next_interval(300.0, 5) == 600
    assert p.next_interval(600.0, 2) == 300 and p.next_interval(None, 0) == 900
