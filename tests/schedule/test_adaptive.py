"""Adaptive polling arithmetic."""

from __future__ import annotations

import pytest

from monitor.schedule.adaptive import delay_until_next_poll, next_interval, server_hint


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
