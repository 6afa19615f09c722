"""Surge detection on synthetic timelines: one alert per surge, closing, re-opening, baselines."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

import pytest

from monitor.alert.compose import render_plain
from monitor.config import SurgeSettings, load_settings
from monitor.trends.surges import (
    WindowCounts,
    baseline_rate,
    check_surges,
    expected_in_window,
    rate_text,
    starts_surge,
    still_surging,
)
from tests.trends.builders import DAY, HOUR, T0, Timeline

NAMES = {"yevkurov": "Yunus-bek Yevkurov", "haftar": "Khalifa Haftar", "libya": "Libya"}
# Most tests look at one burst on an empty history: the warm-up has its own test below.
CFG = SurgeSettings(min_history_hours=0)


@pytest.fixture
def tl(tmp_path):
    timeline = Timeline(tmp_path / "state.db")
    yield timeline
    timeline.db.close()


def quiet_baseline(tl: Timeline, entity: str = "yevkurov", n: int = 6) -> None:
    """``n`` mentions spread over the 14 days before the window: about 0.4 a day for n=6."""
    for i in range(n):
        tl.article(T0 - 13 * DAY + i * 2 * DAY, f"quiet{i % 2}", entity)


def payloads(tl: Timeline) -> list[dict]:
    return [json.loads(r[0]) for r in tl.db.conn.execute(
        "SELECT payload_json FROM outbox ORDER BY id")]


# --------------------------------------------------------------------------- arithmetic


def test_baseline_rate_is_floored():
    assert baseline_rate(0, 13.875, 0.5) == 0.5
    assert baseline_rate(28, 14.0, 0.5) == 2.0
    assert baseline_rate(3, 0.0, 0.5) == 0.5
    assert expected_in_window(2.0, 3) == pytest.approx(0.25)


def test_surge_conditions():
    # count >= min_count, outlets >= min_outlets, count >= factor x expected; all three needed.
    assert starts_surge(WindowCounts(9, 6, 9), 0.0625, CFG)
    assert not starts_surge(WindowCounts(4, 4, 4), 0.0625, CFG)        # too few
    assert not starts_surge(WindowCounts(9, 2, 9), 0.0625, CFG)        # too few outlets
    assert not starts_surge(WindowCounts(9, 6, 9), 2.5, CFG)           # 9 < 4 x 2.5
    assert not starts_surge(WindowCounts(9, 6, 1), 0.0625, CFG)        # one story republished
    assert still_surging(WindowCounts(5, 1, 5), 0.0625, CFG)           # outlets do not end it
    assert not still_surging(WindowCounts(4, 4, 4), 0.0625, CFG)


def test_rate_text():
    assert [rate_text(r) for r in (0, 0.01, 0.43, 2.0, 12.4)] == ["0", "under 0.1", "0.4", "2.0",
                                                                  "12"]


# --------------------------------------------------------------------------- the timeline


def test_burst_alerts_once_then_closes_then_alerts_again(tl):
    quiet_baseline(tl)
    tl.burst(T0, "yevkurov", articles=9, outlets=6)
    assert check_surges(tl.db, CFG, T0 - 3 * HOUR, NAMES) == []   # before the burst: quiet

    [surge] = check_surges(tl.db, CFG, T0, NAMES)
    assert (surge.entity, surge.counts) == ("yevkurov", WindowCounts(9, 6, 9))
    assert tl.outbox() == [(f"surge:yevkurov:{surge.id}", "default", "digest")]

    # More mentions while it is open: no second message, the peak grows.
    tl.burst(T0 + 10 * 60, "yevkurov", articles=2, outlets=2, span=5 * 60)
    assert check_surges(tl.db, CFG, T0 + 10 * 60, NAMES) == []
    assert check_surges(tl.db, CFG, T0 + 20 * 60, NAMES) == []
    assert len(tl.outbox()) == 1
    [row] = tl.surges()
    assert row["ended_at"] is None and row["peak_count"] == 11 and row["outbox_id"] == 1

    # The window moves past the burst: the surge ends.
    assert check_surges(tl.db, CFG, T0 + 4 * HOUR, NAMES) == []
    [row] = tl.surges()
    assert row["ended_at"] == T0 + 4 * HOUR

    # A new burst two days later is a new surge with its own message.
    later = T0 + 2 * DAY
    tl.burst(later, "yevkurov", articles=6, outlets=3)
    [again] = check_surges(tl.db, CFG, later, NAMES)
    assert again.id != surge.id
    assert [k for k, _, _ in tl.outbox()] == [f"surge:yevkurov:{surge.id}",
                                              f"surge:yevkurov:{again.id}"]
    assert len(tl.surges()) == 2 and tl.surges()[1]["ended_at"] is None


def test_payload_text_and_links(tl):
    quiet_baseline(tl)
    ids = tl.burst(T0, "yevkurov", articles=9, outlets=6)
    [surge] = check_surges(tl.db, CFG, T0, NAMES)
    [payload] = payloads(tl)
    assert payload["kind"] == "digest"
    assert payload["title"] == "📈 Yunus-bek Yevkurov: 9 articles from 6 outlets in the last 3 hours"
    assert payload["body"] == "usually 0.4 a day"
    # The top five by score (the burst's scores rise with each article), with links and outlets.
    urls = [item["url"] for item in payload["items"]]
    assert urls == [f"https://outlet{i % 6}.example/a/{ids[i]}" for i in (8, 7, 6, 5, 4)]
    assert payload["items"][0]["outlet"] == "outlet2"
    assert set(payload["items"][0]) >= {"title", "url", "outlet", "severity", "rule_title"}
    text = render_plain(surge.payload)
    assert "9 articles from 6 outlets in the last 3 hours" in text
    assert "usually 0.4 a day" in text and urls[0] in text


def test_always_busy_entity_does_not_surge(tl):
    # Haftar is named every 30 minutes for two weeks: 6 in any 3 hours is his normal.
    t = T0 - 14 * DAY
    i = 0
    while t <= T0:
        tl.article(t, f"outlet{i % 5}", "haftar")
        t, i = t + 30 * 60, i + 1
    assert check_surges(tl.db, CFG, T0, NAMES) == []
    assert tl.outbox() == [] and tl.surges() == []


def test_burst_from_one_outlet_does_not_surge(tl):
    quiet_baseline(tl)
    tl.burst(T0, "yevkurov", articles=9, outlets=1)
    assert check_surges(tl.db, CFG, T0, NAMES) == []
    assert tl.outbox() == []


def test_one_story_republished_counts_once(tl):
    # One wire story carried by nine outlets: 9 articles but 1 story, below min_count.
    tl.burst(T0, "yevkurov", articles=9, outlets=9, story=77)
    assert check_surges(tl.db, CFG, T0, NAMES) == []
    # Five more distinct stories make it a surge; the message reports both numbers.
    tl.burst(T0, "yevkurov", articles=5, outlets=5, span=HOUR)
    [surge] = check_surges(tl.db, CFG, T0, NAMES)
    assert surge.counts == WindowCounts(articles=14, outlets=9, stories=6)
    assert surge.payload.title.endswith("14 articles from 9 outlets in the last 3 hours")
    assert "6 distinct stories" in (surge.payload.body or "")
    # Top articles: one per story, so the wire story appears once.
    assert len(surge.payload.items) == 5
    assert len({item["url"] for item in surge.payload.items}) == 5


def test_fresh_database_uses_the_floor(tl):
    tl.burst(T0, "yevkurov", articles=5, outlets=3)
    [surge] = check_surges(tl.db, CFG, T0, NAMES)
    assert surge.expected == pytest.approx(0.5 * 3 / 24)      # the floor, not zero
    assert surge.usual_per_day == 0
    assert surge.payload.body == "usually 0 a day (none in the previous 14 days)"


def test_floor_keeps_first_mentions_from_surging(tmp_path):
    # With a floor of 12 a day, 1.5 are expected in 3 hours: 5 is not 4 x that.
    tl = Timeline(tmp_path / "s.db")
    try:
        tl.burst(T0, "yevkurov", articles=5, outlets=3)
        assert check_surges(tl.db, SurgeSettings(baseline_floor_per_day=12, min_history_hours=0), T0, NAMES) == []
    finally:
        tl.db.close()


def test_ignore_entities(tl):
    tl.burst(T0, "libya", articles=9, outlets=6)
    assert check_surges(tl.db, CFG, T0, NAMES) == []            # ignored by default
    [surge] = check_surges(tl.db, SurgeSettings(ignore_entities=[], min_history_hours=0), T0, NAMES)
    assert surge.entity == "libya" and surge.name == "Libya"


def test_ignore_by_display_name_and_end_open_surge(tl):
    tl.burst(T0, "yevkurov", articles=9, outlets=6)
    assert len(check_surges(tl.db, CFG, T0, NAMES)) == 1
    # Added to the ignore list (by its display name) while open: it is ended, not re-announced.
    cfg = SurgeSettings(ignore_entities=["yunus-bek yevkurov"], min_history_hours=0)
    assert check_surges(tl.db, cfg, T0 + 60, NAMES) == []
    assert tl.surges()[0]["ended_at"] == T0 + 60


def test_settings_section_and_disabled(tl):
    tl.burst(T0, "yevkurov", articles=9, outlets=6)
    off = load_settings(None, env={"MONITOR_SURGES__ENABLED": "false"}, overrides={"feeds": []})
    assert check_surges(tl.db, off.surges, T0, NAMES) == []
    on = load_settings(None, env={"MONITOR_SURGES__DESTINATION": "analysts",
                                  "MONITOR_SURGES__TOP_ARTICLES": "2",
                                  "MONITOR_SURGES__MIN_HISTORY_HOURS": "0"},
                       overrides={"feeds": []})
    [surge] = check_surges(tl.db, on.surges, T0, {})
    assert surge.name == "yevkurov"                             # no display name: the id
    assert tl.outbox()[0][1] == "analysts" and len(surge.payload.items) == 2


def test_unknown_setting_is_refused():
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError, match="surges.factr"):
        load_settings(None, env={"MONITOR_SURGES__FACTR": "3"}, overrides={"feeds": []})


# --------------------------------------------------------------------------- wiring


def _ruleset():
    from monitor.match.model import Entity, RuleSet

    return RuleSet(entities=(Entity("yevkurov", "Yunus-bek Yevkurov", "person", 1.0,
                                    ("يفكوروف",)),), groups=(), rules=(), fingerprint="test")


def _fake_app(db):
    return SimpleNamespace(db=db, drainer=SimpleNamespace(wake=asyncio.Event(), on_pause=None),
                           pipeline=SimpleNamespace(scorer=SimpleNamespace(ruleset=_ruleset())))


def test_service_job_checks_and_wakes_the_sender(tl):
    from monitor.schedule.service import Service

    tl.burst(time.time(), "yevkurov", articles=9, outlets=6)
    settings = load_settings(None, env={"MONITOR_SURGES__MIN_HISTORY_HOURS": "0"},
                             overrides={"feeds": []})

    async def scenario() -> tuple[bool, bool]:
        app = _fake_app(tl.db)
        service = Service(app, settings, None)
        service._schedule_jobs()
        job = service.scheduler.get_job("surges")
        assert job is not None and job.trigger.interval.total_seconds() == 300
        await service._surges()
        return app.drainer.wake.is_set(), bool(tl.outbox())

    assert asyncio.run(scenario()) == (True, True)
    assert json.loads(tl.db.conn.execute("SELECT payload_json FROM outbox").fetchone()[0])[
        "title"].startswith("📈 Yunus-bek Yevkurov: 9 articles")


def test_monitor_once_checks_surges(tl):
    from monitor.cli_poll import _check_surges

    tl.burst(time.time(), "yevkurov", articles=9, outlets=6)
    _check_surges(_fake_app(tl.db), load_settings(
        None, env={"MONITOR_SURGES__MIN_HISTORY_HOURS": "0"}, overrides={"feeds": []}))
    assert [k for k, _, _ in tl.outbox()] == ["surge:yevkurov:1"]


def test_no_surge_before_there_is_history(tl):
    """A first start with a backlog: every busy name looks like a burst, none is announced."""
    tl.burst(T0, "yevkurov", articles=9, outlets=6)
    assert check_surges(tl.db, SurgeSettings(), T0, NAMES) == []
    tl.burst(T0 - 2 * DAY, "haftar", articles=1, outlets=1)      # mentions reach back 2 days
    [surge] = check_surges(tl.db, SurgeSettings(), T0, NAMES)
    assert surge.entity == "yevkurov"
