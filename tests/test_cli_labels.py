"""Judgements as data, end to end through the real CLI on a state database filled through the
store: ``labels export`` → ``backtest --labels`` with an edited copy of the shipped rules,
``backtest --judged`` and ``--fail-on-loss``, precision in ``status`` and ``digest``, and the
noisy-rule notice."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from monitor.alert.payload import AlertPayload
from monitor.config import load_settings
from monitor.config_feeds import FeedSource
from monitor.models import RawItem
from monitor.store import judgements as j
from monitor.store import outbox
from monitor.store.articles import record_items
from monitor.store.db import open_database
from monitor.store.feeds import sync_feeds
from tests.builders import PARAS, ZARQA_RULES
from tests.conftest import REPO

DAY = 86400.0
ANA, BO = j.Judge(101, "Ana"), j.Judge(202, "Bo")
LIVE_RULE, FORCES_RULE = "russia_military_libya", "russian_forces_libya"
# The alias list of the shipped Wagner entity, whatever it holds (a comment may precede it).
WAGNER_ALIASES = re.compile(r"(- id: wagner\n(?:(?!  - id:).*\n)*?)    aliases: \[[^\]]*\]")

# key: (title, text, rule that alerted, judgements, days ago)
ARTICLES = {
    "yevkurov": ("يفكوروف في بنغازي", " ".join(PARAS), LIVE_RULE,
                 [(ANA, "relevant"), (BO, "not_relevant")], 0.1),          # a tie: relevant
    "jufra": ("فاغنر في الجفرة", "مرتزقة فاغنر يتمركزون في قاعدة الجفرة وسط ليبيا.", FORCES_RULE,
              [(ANA, "relevant")], 0.1),
    "un_report": ("تقرير أممي عن المرتزقة", "كشف تقرير سري أعده فريق خبراء الأمم المتحدة المعني "
                  "بليبيا أن ما بين 800 و1200 من عناصر مجموعة فاغنر الروسية الخاصة ينتشرون في "
                  "البلاد دعماً لقوات القيادة العامة.", FORCES_RULE, [(BO, "relevant")], 0.2),
    "il76": ("طائرات شحن روسية", "طائرات شحن روسية من طراز إيل-76 تهبط في قاعدة الخروبة شرقي "
             "ليبيا محملة بعتاد لقوات حفتر.", LIVE_RULE, [(ANA, "not_relevant")], 0.2),
    # A play about Wagner (an orchestra or a concert is excluded by the pack's person context).
    "concert": ("ليلة فاغنر في بنغازي", "عرض مسرحي عن فاغنر في بنغازي بمشاركة ممثلين من روسيا "
                "وليبيا.", LIVE_RULE,
                [(ANA, "not_relevant"), (BO, "not_relevant")], 0.3),
    "zarqa": ("مناورات", "أجريت مناورات في قاعدة الزرقاء التجريبية صباح اليوم بمشاركة وحدات "
              "محلية.", "zarqa_watch", [(ANA, "not_relevant")], 0.3),
    "old": ("يفكوروف يعود", PARAS[0], LIVE_RULE, [(ANA, "relevant")], 40),
}


def fill(path: Path, now: float) -> dict[str, int]:
    """Articles recorded from a feed, an alert queued for each, then the analysts' presses."""
    db = open_database(path)
    try:
        feed = sync_feeds(db, [FeedSource(name="wire", url="https://wire.example/rss")], now)
        feed_id = feed["wire"].id
        items = [RawItem(identity=key, url=f"https://wire.example/{key}", guid=key, title=title,
                         summary=text, published=None, author=None, outlet="Wire")
                 for key, (title, text, *_rest) in ARTICLES.items()]
        record_items(db, feed_id, items, now - 41 * DAY, new_limit=100)
        ids = {r["guid"]: r["id"] for r in db.conn.execute("SELECT id, guid FROM articles")}
        update = iter(range(1, 1000))
        for key, (title, _text, rule, presses, days) in ARTICLES.items():
            with db.transaction() as conn:
                row = outbox.enqueue(conn, key=f"article:{ids[key]}:default", destination="default",
                                     payload=AlertPayload(kind="alert", title=title, rule_id=rule,
                                                          article_id=ids[key]),
                                     now=now - days * DAY - 60)
            assert row is not None
            for judge, label in presses:
                j.record_judgement(db, update_id=next(update), outbox_id=row, judge=judge,
                                   label=label, now=now - days * DAY)
        return ids
    finally:
        db.close()


@pytest.fixture()
def state(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    path = tmp_path / "state" / "m.db"
    return path, fill(path, time.time())


def edited_rules(tmp_path: Path, *, narrow_wagner: bool = True, zarqa: bool = True) -> Path:
    """A copy of the shipped rules, edited: Wagner only as 'مجموعة فاغنر' and the like (the bare
    name also fires on concerts), and the Zarqa test rule added."""
    edited = tmp_path / "edited"
    shutil.rmtree(edited, ignore_errors=True)
    shutil.copytree(REPO / "rules", edited)
    forces = (edited / "forces.yaml").read_text(encoding="utf-8")
    assert WAGNER_ALIASES.search(forces), "the shipped rules have no Wagner alias list"
    if narrow_wagner:
        forces = WAGNER_ALIASES.sub(r"\1    aliases: [مجموعة فاغنر, شركة فاغنر, "
                                    "Wagner Group, PMC Wagner, ЧВК Вагнер]", forces, count=1)
    (edited / "forces.yaml").write_text(forces, encoding="utf-8")
    if zarqa:
        (edited / "zarqa.yaml").write_text(ZARQA_RULES, encoding="utf-8")
    return edited


def monitor(db: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**{k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")},
               "MONITOR_DATABASE": str(db), "MONITOR_RULES_PATH": str(REPO / "rules"), **env}
    return subprocess.run([sys.executable, "-m", "monitor", *args], text=True,
                          capture_output=True, env=environ, cwd=cwd, timeout=180)


def test_export_then_backtest_labels_names_the_lost_relevant_alert(state, tmp_path):
    db, ids = state
    table = monitor(db, "labels", "export", cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert table.stdout.startswith("7 judged articles: 4 relevant, 3 not relevant")
    line = next(x for x in table.stdout.splitlines() if x.startswith(f"{ids['yevkurov']} "))
    assert line.split()[1:5] == ["relevant", "1", "1", LIVE_RULE]              # a tie: relevant

    out = tmp_path / "judged.jsonl"
    res = monitor(db, "labels", "export", "--since", "30d", "--jsonl", "-o", str(out),
                  cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    records = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert {r["id"] for r in records} == {ids[k] for k in ARTICLES if k != "old"}
    jufra = next(r for r in records if r["id"] == ids["jufra"])
    assert jufra["label"] is True and jufra["title"] == "فاغنر في الجفرة"
    assert "مرتزقة فاغنر" in jufra["text"] and jufra["rule"] == FORCES_RULE
    assert jufra["url"] == "https://wire.example/jufra" and jufra["outlet"] == "Wire"
    assert [(x["name"], x["user_id"], x["label"]) for x in jufra["judges"]] == [
        ("Ana", 101, "relevant")]
    assert jufra["last_judged_at"].endswith("Z")
    concert = next(r for r in records if r["id"] == ids["concert"])
    assert concert["label"] is False and len(concert["judges"]) == 2

    scored = monitor(db, "score", "--jsonl", str(out), cwd=tmp_path)    # the same file scores
    assert scored.returncode == 0, scored.stderr
    assert [json.loads(x)["id"] for x in scored.stdout.splitlines()] == [r["id"] for r in records]

    edited = edited_rules(tmp_path)
    back = monitor(db, "backtest", "--rules", str(edited), "--labels", str(out), cwd=tmp_path)
    assert back.returncode == 0, back.stderr
    text = back.stdout
    assert f"backtest on 6 judged articles from {out}: 3 relevant, 3 not relevant" in text
    # live: 3 relevant + il76 and the concert alert, Zarqa quiet; edited: the bare 'فاغنر' of
    # Jufra and of the concert no longer counts, Zarqa alerts.
    assert _row(text, "precision") == ["0.60", "0.50"]
    assert _row(text, "recall") == ["1.00", "0.67"]
    assert _row(text, "F1") == ["0.75", "0.57"]
    assert _row(text, "alerted, relevant (TP)") == ["3", "2"]
    assert _row(text, "quiet, relevant (FN)") == ["0", "1"]
    lost = text.split("judged relevant, would STOP alerting: ")[1].split("\n\n")[0]
    assert lost.startswith("1\n") and "فاغنر في الجفرة" in lost and f"#{ids['jufra']} " in lost
    assert "https://wire.example/jufra" in lost and "judged by Ana" in lost
    noise = text.split("judged NOT relevant, would NEWLY alert: ")[1].split("\n\n")[0]
    assert noise.startswith("1\n") and "مناورات" in noise
    quiet = text.split("judged not relevant, would stop alerting: ")[1]
    assert quiet.startswith("1\n") and "ليلة فاغنر" in quiet
    forces = _row(text, FORCES_RULE)
    assert forces == ["5", "3", "60%", "3", "2", "67%"]     # each judged article it alerts
    assert _row(text, "zarqa_watch") == ["0", "0", "-", "1", "0", "0%"]


def _row(text: str, label: str) -> list[str]:
    line = next(x for x in text.splitlines() if x.startswith(label + " "))
    return line[len(label):].split()


def test_backtest_judged_from_the_database_and_fail_on_loss(state, tmp_path):
    db, ids = state
    edited = edited_rules(tmp_path)
    res = monitor(db, "backtest", "--rules", str(edited), "--judged", "--jsonl", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    objs = [json.loads(x) for x in res.stdout.splitlines()]
    summary = objs[-1]
    assert summary["summary"] and summary["articles"] == 7 and summary["relevant"] == 4
    assert summary["live"] == {"precision": 0.6667, "recall": 1.0, "f1": 0.8, "tp": 4, "fp": 2,
                               "fn": 0, "tn": 1}
    assert (summary["edited"]["tp"], summary["edited"]["fn"]) == (3, 1)
    assert summary["per_rule"][FORCES_RULE]["live"] == {"judged": 6, "relevant": 4,
                                                        "share": 0.6667}
    lost = [o for o in objs[:-1] if o["change"] == "stop_alerting" and o["relevant"]]
    assert [o["id"] for o in lost] == [ids["jufra"]] and lost[0]["new_rules"] == []
    assert summary["lost_relevant"] == 1 and summary["new_not_relevant"] == 1

    recent = monitor(db, "backtest", "--rules", str(edited), "--judged", "--since", "30d",
                     "--jsonl", cwd=tmp_path)
    assert json.loads(recent.stdout.splitlines()[-1])["articles"] == 6

    failing = monitor(db, "backtest", "--rules", str(edited), "--judged", "--fail-on-loss",
                      cwd=tmp_path)
    assert failing.returncode == 1
    assert "loses 1 alert(s) judged relevant" in failing.stderr
    assert "فاغنر في الجفرة" in failing.stdout
    harmless = edited_rules(tmp_path, narrow_wagner=False)      # only adds the Zarqa rule
    ok = monitor(db, "backtest", "--rules", str(harmless), "--judged", "--fail-on-loss",
                 cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "judged relevant, would STOP alerting: 0" in ok.stdout

    alone = monitor(db, "backtest", "--rules", str(edited), "--fail-on-loss", cwd=tmp_path)
    assert alone.returncode == 2 and "--labels FILE or --judged" in alone.stderr


def test_status_and_digest_show_precision_per_rule(state, tmp_path):
    db, _ids = state
    status = monitor(db, "status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    section = status.stdout.split("judgements of the last 30 days")[1]
    # The 40-day-old judgement is outside the window; each article counts once, a tie relevant.
    assert _row(section, LIVE_RULE) == ["3", "1", "33%"]
    assert _row(section, FORCES_RULE) == ["2", "2", "100%"]

    digest = monitor(db, "digest", "--since", "24h", "--send", cwd=tmp_path)
    assert digest.returncode == 0, digest.stderr
    section = digest.stdout.split("judged by analysts")[1]
    assert _row(section, LIVE_RULE) == ["3", "1", "33%"]
    assert (f"Judged: {LIVE_RULE} 1/3 relevant, {FORCES_RULE} 2/2 relevant, zarqa_watch 0/1 "
            "relevant") in digest.stdout.split("queued for")[1]
    js = monitor(db, "digest", "--since", "1h", "--json", cwd=tmp_path)
    assert json.loads(js.stdout)["judged"] == []             # nothing judged in the last hour


def test_noisy_rule_raises_one_operator_notice(state):
    from monitor.ops.notices import Notifier

    db_path, _ids = state
    settings = load_settings(None, env={}, overrides={"feeds": [], "ops": {
        "admin_destination": "ops", "notice_repeat_seconds": DAY}, "analysts": {
        "noisy_share": 0.6, "noisy_min_judged": 3, "noisy_days": 30}})
    db = open_database(db_path)
    try:
        notifier = Notifier(db, settings)
        loaded = [LIVE_RULE, FORCES_RULE]                # zarqa_watch is not in the live pack
        assert notifier.check(loaded) == 1
        assert notifier.check(loaded) == 0              # once per notice_repeat_seconds
        [(dest, payload)] = [(r[0], json.loads(r[1])) for r in db.conn.execute(
            "SELECT destination, payload_json FROM outbox WHERE kind = 'notice'")]
        assert dest == "ops" and payload["title"] == f"Rule noisy: {LIVE_RULE}"
        assert "2 of the 3 alerts" in payload["body"] and "67%" in payload["body"]
        assert "monitor backtest --rules EDITED --judged" in payload["body"]
    finally:
        db.close()
    quiet = load_settings(None, env={}, overrides={"feeds": [], "analysts": {
        "noisy_share": 0.7, "noisy_min_judged": 3}})
    db = open_database(db_path)
    try:
        assert Notifier(db, quiet)._noisy_rules([LIVE_RULE, FORCES_RULE]) == []
    finally:
        db.close()


def test_export_without_a_database_says_so(tmp_path):
    res = monitor(tmp_path / "none.db", "labels", "export", cwd=tmp_path)
    assert res.returncode == 1 and "no state database at" in res.stderr
    assert not (tmp_path / "none.db").exists()


def test_export_since_a_date(state, tmp_path):
    db, ids = state
    day = datetime.fromtimestamp(time.time() - 35 * DAY).date().isoformat()
    res = monitor(db, "labels", "export", "--since", day, "--jsonl", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert ids["old"] not in {json.loads(x)["id"] for x in res.stdout.splitlines()}
    bad = monitor(db, "labels", "export", "--since", "last week", cwd=tmp_path)
    assert bad.returncode == 2 and "2026-11-01" in bad.stderr


def test_labels_file_in_the_labelled_set_format_and_a_broken_line(tmp_path):
    from monitor.errors import MonitorError
    from monitor.match.judged import judged_backtest, read_labels

    articles = read_labels(REPO / "tests" / "data" / "labelled_dev.jsonl")
    assert len(articles) > 1000 and {a.relevant for a in articles} == {True, False}
    edited = edited_rules(tmp_path, zarqa=False)
    one, two = (judged_backtest(articles, REPO / "rules", edited, source="dev", workers=w)
                for w in (1, 2))
    # The figures tests/match/test_quality.py pins for this set, through the worker pool too.
    assert one.live.precision >= 0.97 and one.live.recall >= 0.95
    assert (one.live, one.edited) == (two.live, two.edited)
    assert one.lost and [c.article.id for c in one.lost] == [c.article.id for c in two.lost]
    assert all(isinstance(c.article.id, str) for c in one.lost)      # the set's own ids
    broken = tmp_path / "b.jsonl"
    broken.write_text('{"id": 1, "title": "", "text": "x", "label": true}\n{"id": 2}\n')
    with pytest.raises(MonitorError, match=r"b\.jsonl:2: no label"):
        read_labels(broken)
