"""The daemon as an operator runs it: live rule and config edits, health, metrics, SIGTERM."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.builders import PARAS, ZARQA_RULES, page, rss
from tests.conftest import REPO
from tests.schedule.daemon import Daemon, wait_for
from tests.servers.http import send


def jsonl_alerts(path: Path, chat_id: str = "default") -> list[dict]:
    """Messages the JSON-lines sink wrote for one destination (notices go to 'admin')."""
    if not path.exists():
        return []
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [x for x in lines if x["chat_id"] == chat_id]


def config(tmp_path: Path, server, feeds: list[tuple[str, str]], rules: Path) -> None:
    lines = [f"database: {tmp_path / 'state' / 'monitor.db'}", f"rules_path: {rules}",
             "poll: {interval_seconds: 1, min_interval_seconds: 1, max_interval_seconds: 2, "
             "jitter_seconds: 0}",
             f"fetch: {{allow_addresses: ['127.0.0.1:{server.port}']}}",
             "extract: {workers: 0}",
             f"alerts: {{sink: jsonl, jsonl_path: {tmp_path / 'alerts.jsonl'}}}",
             "ops: {watch_interval_seconds: 0.3, notice_check_seconds: 3600}",
             "feeds:"]
    lines += [f"  - {{name: {n}, url: '{u}'}}" for n, u in feeds]
    (tmp_path / "monitor.yaml").write_text("\n".join(lines) + "\n")


def test_live_rule_edits_config_reload_health_and_sigterm(server, tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    items = [{"title": "يفكوروف في بنغازي", "link": server.url("/a.html"), "guid": "a"}]
    server.static("/a.html", page("يفكوروف في بنغازي", PARAS).encode(), "text/html")
    server.static("/feed.xml", rss(items))
    config(tmp_path, server, [("f", server.url("/feed.xml"))], rules)
    daemon = Daemon(tmp_path).start()
    try:
        wait_for(lambda: (daemon.healthz() or (0,))[0] == 200, 30, "healthz 200")
        alerts = tmp_path / "alerts.jsonl"
        wait_for(lambda: len(jsonl_alerts(alerts)) == 1, 30, "first alert")

        # 1. An item only the new rule would catch: no alert yet.
        server.static("/z1.html", page("مناورات", ["أجريت مناورات في قاعدة الزرقاء التجريبية "
                                                  "صباح اليوم بمشاركة وحدات محلية."] * 3).encode(),
                      "text/html")
        items.append({"title": "مناورات في الزرقاء", "link": server.url("/z1.html"), "guid": "z1"})
        server.static("/feed.xml", rss(items))
        wait_for(lambda: server.hits("/z1.html") == 1, 30, "z1 fetched")
        time.sleep(0.5)
        assert len(jsonl_alerts(alerts)) == 1

        # 2. A rule edit takes effect without a restart.
        (rules / "zarqa.yaml").write_text(ZARQA_RULES, encoding="utf-8")
        wait_for(lambda: "rules reloaded" in daemon.text(), 30, "rules reloaded")
        assert "rules +1 (zarqa_watch)" in daemon.text()
        server.static("/z2.html", page("تدريب", ["وصلت تعزيزات إلى قاعدة الزرقاء التجريبية "
                                                "مساء أمس وفق مصادر محلية."] * 3).encode(),
                      "text/html")
        items.append({"title": "تعزيزات", "link": server.url("/z2.html"), "guid": "z2"})
        server.static("/feed.xml", rss(items))
        wait_for(lambda: len(jsonl_alerts(alerts)) == 2, 30, "alert from the new rule")
        assert "الزرقاء" in jsonl_alerts(alerts)[-1]["text"]

        # 3. A half-saved, broken edit is refused; the service keeps running the old rules.
        (rules / "zarqa.yaml").write_text(ZARQA_RULES[:200] + "\n  - id: [broken", encoding="utf-8")
        wait_for(lambda: "rule edit rejected" in daemon.text(), 30, "rejected edit")
        assert "zarqa.yaml:" in daemon.text().split("rule edit rejected")[1].splitlines()[0]
        status, body = daemon.healthz()
        assert status == 200 and "zarqa.yaml" in body["rules_error"]
        assert 'monitor_rule_reloads_total{outcome="rejected"} 1.0' in daemon.metrics()
        st = subprocess.run([sys.executable, "-m", "monitor", "status"], cwd=tmp_path, text=True,
                            capture_output=True, env=daemon.env)
        assert "LAST EDIT REJECTED" in st.stdout and "zarqa.yaml" in st.stdout
        server.static("/z3.html", page("زيارة", ["زار وفد قاعدة الزرقاء التجريبية اليوم."] * 3
                                       ).encode(), "text/html")
        items.append({"title": "زيارة", "link": server.url("/z3.html"), "guid": "z3"})
        server.static("/feed.xml", rss(items))
        wait_for(lambda: len(jsonl_alerts(alerts)) == 3, 30, "old rules still alert")
        notice = wait_for(lambda: jsonl_alerts(alerts, "admin"), 10, "operator notice")
        assert "Rule edit rejected" in notice[0]["text"] and "zarqa.yaml" in notice[0]["text"]
        assert daemon.proc.poll() is None

        # 4. Adding a feed to the config file takes effect without a restart.
        server.static("/g.xml", rss([{"title": "خبر", "link": server.url("/none"), "guid": "g1"}]))
        config(tmp_path, server, [("f", server.url("/feed.xml")), ("g", server.url("/g.xml"))],
               rules)
        wait_for(lambda: server.hits("/g.xml") >= 1, 30, "new feed polled")
        assert "feed added feed=g" in daemon.text()
        metrics = daemon.metrics()
        assert 'monitor_polls_total{outcome="ok"}' in metrics
        assert "monitor_alerts_sent_total" in metrics and "monitor_extraction_seconds" in metrics

        # 5. SIGTERM: clean exit 0.
        assert daemon.terminate() == 0
        assert "daemon stopped" in daemon.text()
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


def test_healthz_is_503_when_no_feed_succeeds(server, tmp_path):
    server.add("/down.xml", lambda h: send(h, 500, b"x", "text/plain"))
    config(tmp_path, server, [("down", server.url("/down.xml"))], REPO / "rules")
    daemon = Daemon(tmp_path).start()
    try:
        wait_for(lambda: server.hits("/down.xml") >= 1, 30, "poll")
        status, body = wait_for(daemon.healthz, 10, "healthz")
        assert status == 503 and any("no feed polled successfully" in r for r in body["reasons"])
        assert daemon.terminate() == 0
    finally:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.kill()


def test_bad_rules_at_start_fail_with_file_and_line(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text("entities:\n  - id: x\n    aliases: []\n")
    res = subprocess.run([sys.executable, "-m", "monitor", "once"], cwd=tmp_path, text=True,
                         capture_output=True, env={"PATH": "/usr/bin:/bin",
                                                   "MONITOR_RULES_PATH": str(rules)})
    assert res.returncode == 2
    assert "bad.yaml:3" in res.stderr or "bad.yaml:2" in res.stderr


def test_housekeeping_prunes_old_text(tmp_path):
    from monitor.schedule.housekeeping import prune_old_text
    from monitor.store.db import open_database
    db = open_database(tmp_path / "s.db")
    db.conn.execute("INSERT INTO feeds(name, url, created_at) VALUES ('f', 'http://x', 0)")
    for i, age_days in enumerate([1, 100]):
        db.conn.execute("INSERT INTO articles(identity, feed_id, text, first_seen_at, fetched_at) "
                        "VALUES (?, 1, 'نص', ?, ?)",
                        (f"id{i}", time.time() - age_days * 86400, time.time() - age_days * 86400))
    assert prune_old_text(db, 90, time.time()) == 1
    texts = [r[0] for r in db.conn.execute("SELECT text FROM articles ORDER BY id")]
    assert texts == ["نص", None]
    assert db.conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 2
    db.close()
    sqlite3.connect(tmp_path / "s.db").close()
