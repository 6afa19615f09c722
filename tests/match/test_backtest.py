"""monitor backtest: what a rule edit would change, on a database filled by the pipeline."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys

from monitor.app import load_scorer
from tests.builders import PARAS, ZARQA_RULES, page, rss
from tests.conftest import REPO, make_settings, run_cycle


def test_backtest_reports_new_and_lost_alerts_and_sends_nothing(server, tmp_path):
    server.static("/y.html", page("يفكوروف في بنغازي", PARAS).encode(), "text/html")
    server.static("/z.html", page("مناورات", ["أجريت مناورات في قاعدة الزرقاء التجريبية صباح "
                                             "اليوم بمشاركة وحدات محلية."] * 3).encode(), "text/html")
    server.static("/n.html", page("أمطار", ["توقعات بهطول أمطار غزيرة على مدينة درنة."] * 3
                                  ).encode(), "text/html")
    server.static("/feed.xml", rss([{"title": t, "link": server.url(f"/{s}.html"), "guid": s}
                                    for s, t in (("y", "يفكوروف"), ("z", "مناورات"), ("n", "أمطار"))]))
    settings = make_settings(tmp_path, server, [{"name": "f", "url": server.url("/feed.xml")}],
                             rules_path=str(REPO / "rules"))
    run_cycle(settings, load_scorer(settings))
    before = sqlite3.connect(settings.database).execute("SELECT COUNT(*), MAX(id) FROM outbox").fetchone()

    edited = tmp_path / "edited"
    shutil.copytree(REPO / "rules", edited)
    (edited / "zarqa.yaml").write_text(ZARQA_RULES, encoding="utf-8")
    pack = (edited / "russia-libya.yaml").read_text(encoding="utf-8")
    (edited / "russia-libya.yaml").write_text(
        re.sub(r"threshold: [\d.]+", "threshold: 1000", pack), encoding="utf-8")

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")},
           "MONITOR_DATABASE": str(settings.database), "MONITOR_RULES_PATH": str(REPO / "rules")}
    res = subprocess.run([sys.executable, "-m", "monitor", "backtest", "--rules", str(edited),
                          "--since", "1d"], text=True, capture_output=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "backtest: 3 stored articles" in out
    newly = out.split("would NEWLY alert: ")[1]
    assert newly.startswith("1") and "مناورات" in newly.split("would STOP")[0]
    stop = out.split("would STOP alerting: ")[1]
    assert stop.startswith("1") and "يفكوروف" in stop and server.url("/y.html") in stop
    assert re.search(r"zarqa_watch\s+0\s+1", out)
    assert "backtest: 3/3 articles" in res.stderr        # progress, not on a terminal

    js = subprocess.run([sys.executable, "-m", "monitor", "backtest", "--rules", str(edited),
                         "--jsonl", "--workers", "1"], text=True, capture_output=True, env=env,
                        timeout=120)
    objs = [json.loads(x) for x in js.stdout.splitlines()]
    assert {o.get("change") for o in objs[:-1]} == {"newly_alerting", "stop_alerting"}
    assert objs[-1]["summary"] and objs[-1]["newly_alerting"] == 1

    after = sqlite3.connect(settings.database).execute("SELECT COUNT(*), MAX(id) FROM outbox").fetchone()
    assert after == before


def test_backtest_refuses_invalid_candidate_rules(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.yaml").write_text("rules:\n  - id: r\n    all: [nope]\n    threshold: 1\n")
    (tmp_path / "db").mkdir()
    from monitor.store.db import open_database
    open_database(tmp_path / "db" / "m.db").close()
    res = subprocess.run([sys.executable, "-m", "monitor", "backtest", "--rules", str(bad)],
                         text=True, capture_output=True, timeout=60,
                         env={"PATH": os.environ["PATH"], "MONITOR_DATABASE": str(tmp_path / "db" / "m.db"),
                              "MONITOR_RULES_PATH": str(REPO / "rules")})
    assert res.returncode == 2 and "x.yaml:" in res.stderr and "nope" in res.stderr


def test_backtest_streams_many_chunks_through_two_workers_in_order(tmp_path):
    from monitor.match.backtest import chunked, run_backtest

    edited = tmp_path / "edited"
    shutil.copytree(REPO / "rules", edited)
    (edited / "zarqa.yaml").write_text(ZARQA_RULES, encoding="utf-8")
    texts = ["أجريت مناورات في قاعدة الزرقاء التجريبية بمشاركة وحدات محلية.",
             "توقعات بهطول أمطار غزيرة على مدينة درنة."]
    articles = [(i, f"خبر {i}", texts[i % 2], f"https://example.org/{i}") for i in range(1, 301)]
    reports = [run_backtest(chunked(articles, 7), len(articles), REPO / "rules", edited,
                            workers=w, progress=None) for w in (1, 2)]
    for report in reports:
        assert report.articles == 300
        assert [v.id for v in report.newly_alerting] == list(range(2, 301, 2))
        assert report.new_per_rule["zarqa_watch"] == 150
    assert reports[0].new_per_rule == reports[1].new_per_rule
