"""``monitor migrate``, ``export-state`` and ``import-state`` through the real CLI: a SQLite state
filled by a poll of real feeds and by the store's writers moves to PostgreSQL and back to a new
SQLite file with every row of every table unchanged, new rows then take new ids, the search
index is rebuilt, and bad targets and dumps are refused with messages that name them (and
never a database password)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from monitor.alert.payload import AlertPayload
from monitor.cli import main
from monitor.search.backfill import run_backfill
from monitor.search.engine import run_search
from monitor.search.query import parse_query
from monitor.store import hosts, outbox, service, surges, transfer
from monitor.store import judgements as j
from monitor.store.db import open_database, open_read_only
from monitor.store.links import StoredLinkCache
from tests.builders import PARAS, page, rss
from tests.conftest import REPO, make_settings, run_cycle

# The tests pick their engines themselves: never redirected by TEST_STATE_ENGINE.
pytestmark = pytest.mark.sqlite_only

COPIED = {"feeds", "articles", "sightings", "outbox", "destinations", "rule_stats",
          "service_state", "mentions", "surges", "host_circuits", "link_cache", "judgements",
          "story_mutes", "entity_mutes"}
NOW = time.time()


def fill_by_poll(tmp_path: Path, server) -> Path:
    """What the daemon writes: two copies of one story that match the shipped rules and an
    article that does not (texts, scores, story signatures, mentions, queued alerts), then
    what the sender, the bot and housekeeping add."""
    from monitor.app import load_scorer

    items = []
    for i, title in enumerate(["يفكوروف في بنغازي", "وفد روسي في بنغازي"]):
        server.static(f"/a/{i}.html", page(title, PARAS).encode(), "text/html; charset=utf-8")
        items.append({"title": title, "link": server.url(f"/a/{i}.html"), "guid": f"g{i}"})
    items.append({"title": "أمطار في درنة", "link": server.url("/none"), "guid": "rain",
                  "description": "توقعات بهطول أمطار غزيرة على مدينة درنة هذا الأسبوع"})
    server.static("/feed.xml", rss(items))
    settings = make_settings(tmp_path, server, [{"name": "wire", "url": server.url("/feed.xml")}],
                             rules_path=str(REPO / "rules"),
                             alerts={"sink": "console", "destinations": {"default": {
                                 "chat_id": "@libya_watch"}}})
    stats = run_cycle(settings, load_scorer(settings))
    assert stats.new_items == 3
    db = open_database(settings.database)
    try:
        add_by_store(db)
    finally:
        db.close()
    return Path(settings.database)


def add_by_store(db) -> None:
    """Rows of every other table, written by the store functions that write them."""
    with db.transaction() as conn:
        alerts = [outbox.enqueue(conn, key=f"k{i}", destination="default", now=NOW - 60 + i,
                                 payload=AlertPayload(kind="alert", title=f"t{i}", rule_id="r1",
                                                      article_id=1)) for i in range(3)]
        surge = surges.start_surge(conn, "wagner", now=NOW, peak_count=4)
        surges.set_surge_outbox(conn, surge, alerts[0])
    # The digest row comes after the rows it folds: digest_id points forward.
    assert outbox.fold_into_digest(db, alerts[1:], destination="default", now=NOW,
                                   payload=AlertPayload(kind="digest", title="d")) is not None
    ana = j.Judge(101, "Ana")
    j.record_judgement(db, update_id=7, outbox_id=alerts[0], judge=ana, label="relevant", now=NOW)
    j.mute_story(db, update_id=8, outbox_id=alerts[0], judge=ana, now=NOW)
    j.mute_entity(db, "haftar", until=NOW + 3600, judge=ana, now=NOW)
    service.set_state(db, "rules.loaded", {"files": 3, "note": "قواعد"}, NOW)
    service.register_rules(db, ["r1", "r2"], NOW)
    hosts.open_circuit(db, "slow.example", failures=3, now=NOW, until=NOW + 600, error="timeout")
    StoredLinkCache(db).put("https://news.google.com/x", "https://wire.example/a", NOW)
    outbox.pause(db, "ops", "chat not found", NOW)


def contents(target) -> dict[str, list[tuple]]:
    """Every copied table's rows, read with plain SQL, in a comparable order."""
    conn = open_read_only(target)
    try:
        names = {t.name for t in transfer.copied_tables(conn)}
        assert names == COPIED
        return {n: sorted((tuple(r) for r in conn.execute(f"SELECT * FROM {n}").fetchall()),
                          key=repr) for n in sorted(names)}
    finally:
        conn.close()


def printed_counts(out: str) -> dict[str, int]:
    """The per-table counts of a command's table."""
    cells = [line.split() for line in out.splitlines()]
    return {c[0]: int(c[1]) for c in cells if len(c) == 2 and c[0] in COPIED}


def monitor(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_sqlite_to_postgresql_and_back_loses_nothing(server, tmp_path, pg_url, cli_env, capsys,
                                                     monkeypatch):
    source = fill_by_poll(tmp_path, server)
    before = contents(source)
    assert all(before[n] for n in COPIED), [n for n in COPIED if not before[n]]
    signatures = [r[21] for r in before["articles"] if r[21] is not None]   # the BLOB
    assert signatures and all(isinstance(s, bytes) and len(s) > 100 for s in signatures)
    password = urlsplit(pg_url).password
    assert password

    code, out, err = monitor(capsys, "export-state", "--database", str(source),
                             "-o", "dump.jsonl.gz")
    assert code == 0, err
    assert printed_counts(out) == {n: len(rows) for n, rows in before.items()}

    monkeypatch.setenv("MONITOR_DATABASE", pg_url)        # the configured database
    code, out, err = monitor(capsys, "migrate")
    assert code == 0, err
    assert "schema version 0 -> 13: applied 13 migration(s): 0001_initial.sql" in out
    code, out, err = monitor(capsys, "import-state", "dump.jsonl.gz")
    assert code == 0, err
    assert "check: every table of the target holds the dump's row count" in out
    assert printed_counts(out) == {n: len(rows) for n, rows in before.items()}
    assert "***" in out and password not in out + err
    assert contents(pg_url) == before

    code, out, err = monitor(capsys, "export-state", "-o", "back.jsonl")
    assert code == 0 and password not in out + err
    header = json.loads(Path("back.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert header["engine"] == "postgresql" and header["schema_version"] == 13
    copy = tmp_path / "copy" / "monitor.db"
    code, out, err = monitor(capsys, "import-state", "--database", str(copy), "back.jsonl")
    assert code == 0, err
    assert contents(copy) == before

    for target in (pg_url, copy):
        db = open_database(target)
        try:
            searched_and_grew(db, before)
        finally:
            db.close()


def searched_and_grew(db, before: dict[str, list[tuple]]) -> None:
    """The index rebuilds over the imported articles, and new rows take ids past theirs."""
    indexed = run_backfill(db, progress=None)
    assert indexed == len(before["articles"])
    found = {r.id for r in run_search(db, parse_query("يفكوروف")).results}
    assert 1 in found
    last_article = max(r[0] for r in before["articles"])
    last_outbox = max(r[0] for r in before["outbox"])
    with db.transaction() as conn:
        new = conn.execute("INSERT INTO articles(identity, feed_id, first_seen_at) "
                           "VALUES ('new', 1, 0) RETURNING id").fetchone()[0]
        row = outbox.enqueue(conn, key="after-import", destination="default", now=NOW,
                             payload=AlertPayload(kind="alert", title="n", article_id=new))
        surge = surges.start_surge(conn, "new", now=NOW, peak_count=1)
    assert (new, row) == (last_article + 1, last_outbox + 1)
    assert surge == max(r[0] for r in before["surges"]) + 1


@pytest.fixture
def small_dump(tmp_path, cli_env, capsys) -> Path:
    """A dump of a small state filled by the store alone."""
    db = open_database(tmp_path / "small.db")
    try:
        with db.transaction() as conn:
            conn.execute("INSERT INTO feeds(id, name, url, created_at) VALUES (1, 'f', 'u', 0)")
            conn.execute("INSERT INTO articles(id, identity, feed_id, title, first_seen_at, "
                         "signature) VALUES (1, 'i', 1, 'يفكوروف', 0, ?)", (b"\x00\xff" * 8,))
        add_by_store(db)
    finally:
        db.close()
    code, _out, err = monitor(capsys, "export-state", "--database", "small.db", "-o", "d.jsonl")
    assert code == 0, err
    return tmp_path / "d.jsonl"


def test_a_target_that_holds_a_state_is_refused(small_dump, pg_url, capsys):
    lines = small_dump.read_text(encoding="utf-8").splitlines(keepends=True)
    [(at, row)] = [(i, json.loads(x)) for i, x in enumerate(lines, 1) if '"t":"articles"' in x]
    row["r"][3] = 99                                            # feed_id: no such feed
    broken = small_dump.with_name("broken.jsonl")
    broken.write_text("".join(lines[:at - 1]) + json.dumps(row) + "\n" + "".join(lines[at:]),
                      encoding="utf-8")
    code, _out, err = monitor(capsys, "import-state", "--database", pg_url, str(broken))
    assert code == 2
    assert f"{broken} line {at}: table articles refused a row" in err
    assert "nothing was imported" in err and urlsplit(pg_url).password not in err

    assert monitor(capsys, "import-state", "--database", pg_url, str(small_dump))[0] == 0
    code, out, err = monitor(capsys, "import-state", "--database", pg_url, str(small_dump))
    assert code == 2 and out == ""
    assert "already holds a state" in err and "articles: 1" in err
    assert "only fills an empty database" in err and "***" in err
    assert urlsplit(pg_url).password not in err


def test_a_dump_of_another_schema_version_is_refused(small_dump, capsys):
    lines = small_dump.read_text(encoding="utf-8").splitlines(keepends=True)
    header = json.loads(lines[0])
    header["schema_version"] = 12
    small_dump.write_text(json.dumps(header) + "\n" + "".join(lines[1:]), encoding="utf-8")
    code, _out, err = monitor(capsys, "import-state", "--database", "new.db", str(small_dump))
    assert code == 2
    assert "the dump has schema version 12" in err and "has 13 after migration" in err
    assert "monitor migrate" in err


def test_a_corrupt_or_truncated_dump_is_refused_and_nothing_imported(small_dump, capsys):
    lines = small_dump.read_text(encoding="utf-8").splitlines(keepends=True)
    late = len(lines) - 1       # the last row, after rows of every other table were written
    small_dump.write_text("".join(lines[:late - 1]) + '{"t": "entity_mutes", "r": [\n'
                          + "".join(lines[late:]), encoding="utf-8")
    code, _out, err = monitor(capsys, "import-state", "--database", "new.db", str(small_dump))
    assert code == 2
    assert f"{small_dump} line {late}: not a JSON line" in err

    small_dump.write_text("".join(lines[:-1]), encoding="utf-8")        # no end line
    code, _out, err = monitor(capsys, "import-state", "--database", "new.db", str(small_dump))
    assert code == 2 and "truncated" in err and str(small_dump) in err

    small_dump.write_text("".join(lines), encoding="utf-8")     # the failed imports left nothing
    code, out, err = monitor(capsys, "import-state", "--database", "new.db", str(small_dump))
    assert code == 0, err
    assert contents("new.db") == contents("small.db")


def test_migrate_reports_the_version_before_and_after(tmp_path, cli_env, capsys):
    code, out, _err = monitor(capsys, "migrate", "--database", "fresh.db")
    assert code == 0 and "schema version none (new) -> 13" in out
    code, out, _err = monitor(capsys, "migrate", "--database", "fresh.db")
    assert code == 0 and "schema version 13: up to date" in out
