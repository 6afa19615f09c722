"""The bot commands' answers, each against a real state database filled by the real pipeline and
store (a poll of local feeds, the outbox, feed health), the repository's rules, and for /score a
real local page server. Every answer must be HTML the fake Bot API accepts, within 4096 units."""
# ruff: noqa: F811 - the fixtures of tests/bot/reply_state.py are imported, then requested by name

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.alert.payload import AlertPayload
from monitor.alert.text import FSI, PDI
from monitor.bot.replies import COMMANDS
from monitor.config import Settings
from monitor.extract.pool import ExtractorPool
from monitor.fetch.client import Fetcher
from monitor.store import feeds as feed_store
from monitor.store import judgements
from monitor.store import service as service_store
from monitor.store.db import Database, open_database
from tests.bot.reply_state import (  # noqa: F401 - filled and served are fixtures
    ANA,
    ARTICLE_TITLE,
    DAY,
    EVIL_TITLE,
    answer,
    context,
    filled,
    matcher,
    refused,
    served,
)
from tests.builders import PARAS, page
from tests.conftest import REPO, make_settings
from tests.servers.telegram import check_html

# ------------------------------------------------------------------------------ /status /feeds


def test_status_shows_queues_feeds_last_alert_and_rules(filled):
    settings, db = filled
    text = answer(context(settings, db), "/status")
    default = next(line for line in text.splitlines() if line.startswith("• default"))
    assert "1 pending" in default and "1 set aside" in default and "1 held by mutes" in default
    ops = next(line for line in text.splitlines() if line.startswith("• ops"))
    assert "PAUSED" in ops and "kicked" in ops and "(oldest 2h)" in ops
    assert "1 ok, 1 failing, 1 silent" in text and "broken — http_status, 1 failure" in text
    assert "Last alert" in text and "→ default" in text and "5m ago" in text
    assert EVIL_TITLE in text                      # shown as text, not as markup
    assert matcher().ruleset.fingerprint[:12] in text and "loaded" in text and "2 rules" in text


def test_status_names_a_rejected_edit_and_the_mutes(filled):
    settings, db = filled
    service_store.set_state(db, "rules", {"fingerprint": matcher().ruleset.fingerprint,
                                          "error": "people.yaml:3: <bad> alias",
                                          "path": "rules"}, time.time())
    judgements.mute_entity(db, "wagner", until=time.time() + 3 * 3600, judge=ANA,
                           now=time.time())
    text = answer(context(settings, db), "/status")
    assert "last edit rejected" in text and "people.yaml:3: <bad> alias" in text
    assert "Muted: Wagner Group (until 2h" in text or "Muted: Wagner Group (until 3h" in text


def test_status_of_an_empty_database(tmp_path):
    settings = make_settings(tmp_path, None, [], rules_path=str(REPO / "rules"))
    db = open_database(settings.database)
    try:
        text = answer(context(settings, db, rules=lambda: None), "/status")
    finally:
        db.close()
    assert "no alert queued yet" in text and "none sent yet" in text
    assert "Rules: none loaded" in text


def test_feeds_names_failing_and_silent_feeds(filled):
    settings, db = filled
    text = answer(context(settings, db), "/feeds")
    assert text.splitlines()[0] == "Feeds: 1 ok · 1 failing · 1 silent"
    failing = text[text.index("Failing"):text.index("Silent")]
    assert "broken: http_status" in failing and "404" in failing and "never worked" in failing
    silent = text[text.index("Silent"):]
    assert "quiet: nothing new for 9d, usually every 1h" in silent
    assert "wasat" not in text


def test_many_failing_feeds_still_fit_one_message(tmp_path):
    names = [f"مصدر-{i}" for i in range(300)]
    settings = make_settings(tmp_path, None, [{"name": n, "url": f"https://x{i}.example/rss"}
                                              for i, n in enumerate(names)])
    db = open_database(settings.database)
    try:
        now = time.time()
        states = feed_store.sync_feeds(db, settings.feeds, now - DAY)
        for n in names:
            feed_store.record_failure(db, states[n].id, now=now, kind="network",
                                      error="تعذر الاتصال <&> " * 30, failures=4,
                                      next_poll_at=now + 60)
        text = answer(context(settings, db), "/feeds")
        assert "0 ok · 300 failing" in text and "… and 285 more" in text
        assert "تعذر الاتصال <&>" in text
        assert answer(context(settings, db), "/status").count("failure") == 3
    finally:
        db.close()


# ------------------------------------------------------------------------------ /digest


def test_digest_of_the_default_day_and_other_spans(filled):
    settings, db = filled
    text = answer(context(settings, db), "/digest")
    assert text.startswith("Digest of the last 24h")
    assert "1 alert sent" in text and "1. 🔔 " + ARTICLE_TITLE in text
    assert "Most named:" in text and "Benghazi (1)" in text
    for span in ("6h", "2d", "90m"):
        assert answer(context(settings, db), f"/digest {span}").startswith(
            f"Digest of the last {span}")


def test_digest_links_are_html_links(filled):
    settings, db = filled
    reply = asyncio.run(COMMANDS["digest"].handler(context(settings, db), []))
    assert '<a href="http://127.0.0.1:' in reply and "/a/1.html" in reply
    assert f"{FSI}{ARTICLE_TITLE}{PDI}</a>" in reply     # cannot reorder the line around it


@pytest.mark.parametrize("span", ["3w", "yesterday", "0h", "-2d"])
def test_digest_refuses_a_bad_span(filled, span):
    settings, db = filled
    assert "not a period" in refused(context(settings, db), f"/digest {span}")


def test_digest_refuses_a_span_too_long(filled):
    settings, db = filled
    assert "at most 90d" in refused(context(settings, db), "/digest 400d")


# ------------------------------------------------------------------------------ /score


def _score(settings: Settings, db: Database, line: str, **parts: Any) -> str:
    return answer(context(settings, db, **parts), line)


def test_score_explains_an_arabic_page(served, tmp_path):
    srv, settings, _ = served
    url = srv.static("/a/score.html", page(ARTICLE_TITLE, PARAS).encode(),
                     "text/html; charset=utf-8")
    db = open_database(settings.database)
    try:
        text = _score(settings, db, f"/score {url}")
        reply = asyncio.run(COMMANDS["score"].handler(context(settings, db), [url]))
    finally:
        db.close()
    first = text.splitlines()[0]
    assert first.startswith("Score ") and "ALERT" in first and "/ threshold" in first
    assert ARTICLE_TITLE in text
    assert "Rules" in text and "🔔 " in text
    assert "Terms found" in text and "Yunus-bek Yevkurov ×" in text and "يفكوروف" in text
    assert "<b>يفكوروف" in reply                  # the matched words in bold in the snippet
    assert srv.hits("/a/score.html") == 2


def test_score_uses_the_daemons_fetcher_and_extractor(served, tmp_path):
    srv, settings, _ = served
    url = srv.static("/a/s.html", page(ARTICLE_TITLE, PARAS).encode(), "text/html; charset=utf-8")

    async def go() -> str:
        extractor = ExtractorPool.from_settings(settings.extract)
        try:
            async with Fetcher(settings.fetch) as fetcher:
                db = open_database(settings.database)
                try:
                    ctx = context(settings, db, fetcher=fetcher, extractor=extractor)
                    return await COMMANDS["score"].handler(ctx, [url])
                finally:
                    db.close()
        finally:
            extractor.close()
    reply = asyncio.run(go())
    assert check_html(reply) is None and "ALERT" in reply


def test_score_of_pages_that_do_not_alert(served):
    srv, settings, _ = served
    rain = srv.static("/a/rain.html", page("أمطار في درنة", [
        "توقعات بهطول أمطار غزيرة على مدينة درنة هذا الأسبوع مع انخفاض في درجات الحرارة "
        "ورياح نشطة على الساحل، بحسب المركز الوطني للأرصاد الجوية."] * 3).encode(),
        "text/html; charset=utf-8")
    football = srv.static("/a/football.html", page("نتائج الدوري", [
        "فاز الفريق الأول على منافسه بثلاثة أهداف مقابل هدف في مباراة مثيرة أقيمت مساء أمس "
        "أمام جمهور غفير، وتصدر الترتيب العام بفارق نقطتين."] * 3).encode(),
        "text/html; charset=utf-8")
    db = open_database(settings.database)
    try:
        text = _score(settings, db, f"/score {rain}")
        nothing = _score(settings, db, f"/score {football}")
    finally:
        db.close()
    assert "no alert" in text.splitlines()[0] and "not met: all: russia_anchor" in text
    assert "Libyan towns, oil fields and ports ×3: درنة" in text     # found, but not enough
    assert nothing.startswith("Score 0") and "no rule term found" in nothing


def test_score_refusals(served):
    srv, settings, dead = served
    db = open_database(settings.database)
    try:
        ctx = context(settings, db)
        assert "usage: /score" in refused(ctx, "/score")
        assert "not a web address" in refused(ctx, "/score notaurl")
        assert "not a web address" in refused(ctx, "/score ftp://example.org/a")
        unreachable = refused(ctx, f"/score http://127.0.0.1:{dead}/a.html")
        assert unreachable.startswith(f"cannot read http://127.0.0.1:{dead}/a.html")
        assert "404" in refused(ctx, f"/score {srv.url('/missing.html')}")
        assert "cannot read" in refused(ctx, "/score http://10.1.2.3/internal")   # not allowed
        norules = refused(context(settings, db, rules=lambda: None), f"/score {srv.url('/x')}")
        assert "no rules are loaded" in norules
        assert srv.hits("/x") == 0                 # refused before fetching anything
    finally:
        db.close()


# ------------------------------------------------------------------------------ /mute /unmute


@pytest.fixture
def state(tmp_path: Path) -> Iterator[tuple[Settings, Database]]:
    settings = make_settings(tmp_path, None, [], rules_path=str(REPO / "rules"))
    db = open_database(settings.database)
    try:
        yield settings, db
    finally:
        db.close()


def test_mute_by_alias_name_or_id_then_list_and_unmute(state):
    settings, db = state
    ctx = context(settings, db)
    assert "No entity is muted" in answer(ctx, "/mute")
    text = answer(ctx, "/mute فاغنر 6h")                  # an alias, in Arabic
    assert "Muted Wagner Group (wagner) for 6h" in text
    until, who = judgements.muted_entities(db, ctx.now)["wagner"]
    assert until == pytest.approx(ctx.now + 6 * 3600) and who == "Ana"
    assert "Muted Africa Corps" in answer(ctx, "/mute الفيلق الإفريقي 2d")  # alef form differs
    assert "(yevkurov) for 90m" in answer(ctx, "/mute Yunus-bek Yevkurov 90m")  # display name
    listing = answer(ctx, "/mute")
    assert "Muted: 3 entities" in listing and "Wagner Group (wagner) until" in listing
    assert "by Ana" in listing
    assert "Unmuted Wagner Group" in answer(ctx, "/unmute WAGNER")
    assert "was not muted" in answer(ctx, "/unmute wagner")
    assert set(judgements.muted_entities(db, ctx.now)) == {"africa_corps", "yevkurov"}


def test_unmute_an_entity_the_rules_no_longer_have(state):
    settings, db = state
    judgements.mute_entity(db, "old_entity", until=time.time() + 3600, judge=ANA, now=time.time())
    assert "Unmuted old_entity" in answer(context(settings, db), "/unmute old_entity")


def test_a_long_mute_list_is_cut_to_one_message(state):
    settings, db = state
    now = time.time()
    for i in range(400):
        judgements.mute_entity(db, f"entity_{i:03}_" + "x" * 40, until=now + 3600,
                               judge=judgements.Judge(i, "محلل <&> " * 5), now=now)
    text = answer(context(settings, db), "/mute")
    assert text.startswith("🔕 Muted: 400 entities") and "محلل <&>" in text
    assert text.splitlines()[-1].startswith("… ") and text.endswith("more lines")


def test_mute_refusals(state):
    settings, db = state
    ctx = context(settings, db)
    unknown = refused(ctx, "/mute wagnr 6h")
    assert "no entity 'wagnr'" in unknown and "Wagner Group (wagner)" in unknown
    partial = refused(ctx, "/mute Yunus 6h")                         # a part of a name
    assert "Did you mean: Yunus-bek Yevkurov (yevkurov)" in partial
    assert "not a duration" in refused(ctx, "/mute wagner 6x")
    assert "not a duration" in refused(ctx, "/mute wagner soon")
    assert "at most 30d" in refused(ctx, "/mute wagner 31d")
    assert "usage: /mute" in refused(ctx, "/mute wagner")
    assert "helper entity" in refused(ctx, "/mute military_noun 1h")
    assert "no rules are loaded" in refused(context(settings, db, rules=lambda: None),
                                            "/mute wagner 1h")
    assert "usage: /unmute" in refused(ctx, "/unmute")
    assert "no entity" in refused(ctx, "/unmute nobody_at_all")
    assert judgements.muted_entities(db, ctx.now) == {}


# ------------------------------------------------------------------------------ /rules /help


def test_rules_summary_with_version_and_judged_share(filled):
    settings, db = filled
    row, payload = db.conn.execute("SELECT id, payload_json FROM outbox "
                                   "WHERE article_id IS NOT NULL").fetchone()
    rule_id = json.loads(payload).get("rule_id")
    judgements.record_judgement(db, update_id=1, outbox_id=row, judge=ANA, label="relevant",
                                now=time.time())
    text = answer(context(settings, db), "/rules")
    ruleset = matcher().ruleset
    assert text.startswith(f"Rules: 2 rules, version {ruleset.fingerprint[:12]}, loaded")
    # The loaded pack's own counts (they change with every rule edit).
    counts = ruleset.summary()
    assert f"{counts['entities']} entities, {counts['aliases']} aliases, " \
           f"{counts['groups']} groups" in text
    assert counts["entities"] > 100 and counts["aliases"] > 1000
    assert "russia_military_libya — high, threshold 5 → default" in text
    assert "russian_forces_libya — critical, threshold 4 → default" in text
    assert "Russian military activity in Libya" in text
    rule_block = text[text.index(rule_id):]
    assert "judged 1 in 30d, 100% relevant" in rule_block.splitlines()[2] \
        or "judged 1 in 30d, 100% relevant" in rule_block.splitlines()[1]


def test_rules_when_none_are_loaded(state):
    settings, db = state
    service_store.set_state(db, "rules", {"fingerprint": None, "error": "forces.yaml:2: bad",
                                          "path": "rules"}, time.time())
    text = answer(context(settings, db, rules=lambda: None), "/rules")
    assert "Rules: none loaded" in text and "forces.yaml:2: bad" in text


def test_help_lists_every_command(state):
    settings, db = state
    text = answer(context(settings, db), "/help")
    for name in ("status", "feeds", "digest", "score", "mute", "unmute", "rules", "help"):
        assert f"/{name}" in text
    assert "/score <url>" in text and "/mute <entity> <duration>" in text


def test_status_shows_precision_per_rule_from_judgements(filled):
    settings, db = filled
    assert "Judged" not in answer(context(settings, db), "/status")
    row = db.conn.execute("SELECT id, payload_json FROM outbox WHERE kind = 'alert' AND "
                          "article_id IS NOT NULL").fetchone()
    rule = AlertPayload.from_json(row[1]).rule_id
    judgements.record_judgement(db, update_id=1, outbox_id=row[0], judge=ANA,
                                label="not_relevant", now=time.time())
    text = answer(context(settings, db), "/status")
    assert f"{rule} 0/1 (0%)" in text
