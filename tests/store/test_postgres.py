"""The PostgreSQL state on a real server: configuration and secrets, SQL translation, feed
leases, the leader lock, and near-duplicates placed by two replicas at the same moment."""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from monitor.config import FeedSource, load_settings
from monitor.dedupe.fingerprint import fingerprint
from monitor.dedupe.stories import assign_story
from monitor.errors import ConfigError, StoreError
from monitor.store import feeds as feed_store
from monitor.store import leases
from monitor.store.db import STORE_ERRORS, display, open_database
from monitor.store.postgres import redact, translate

pytestmark = pytest.mark.sqlite_only     # opens PostgreSQL itself: not redirected again

WAGNER = ("قالت مصادر محلية في منطقة الجفرة إن آخر مجموعة من عناصر شركة فاجنر العسكرية الخاصة "
          "غادرت القاعدة الجوية متجهة إلى مالي بعد أشهر من الانتشار في وسط ليبيا وإن طائرات "
          "شحن روسية نقلت معدات ثقيلة خلال الأسبوع الماضي من القاعدة نفسها إلى بنغازي")


def test_translation_keeps_literals_and_doubles_percent() -> None:
    sql = "SELECT * FROM t INDEXED BY t_i WHERE a = ? AND b LIKE 'x?%' AND c = temp.d"
    assert translate(sql, True) == \
        "SELECT * FROM t WHERE a = %s AND b LIKE 'x?%%' AND c = pg_temp.d"
    assert translate("SELECT '%'", False) == "SELECT '%'"


def test_password_never_in_messages(postgres_server) -> None:
    url = postgres_server.url("postgres")
    password = urlsplit(url).password
    assert password not in display(url) and password not in redact(f"x {url} password=abc")
    wrong = url.replace(password, "wrong-password")
    with pytest.raises(StoreError) as err:
        open_database(wrong)
    assert "wrong-password" not in str(err.value) and "127.0.0.1" in str(err.value)


def test_a_password_in_the_config_file_is_refused_with_its_line(tmp_path: Path) -> None:
    cfg = tmp_path / "monitor.yaml"
    cfg.write_text("log_level: INFO\ndatabase: postgresql://monitor:hunter2@db/monitor\n")
    with pytest.raises(ConfigError) as err:
        load_settings(cfg, env={})
    assert "monitor.yaml" in str(err.value) and ":2" in str(err.value)
    assert "hunter2" not in str(err.value)
    secret = tmp_path / "url"
    secret.write_text("postgresql://monitor:hunter2@db/monitor\n")
    settings = load_settings(None, env={"MONITOR_DATABASE_FILE": str(secret)})
    assert settings.database == "postgresql://monitor:hunter2@db/monitor"
    with pytest.raises(ConfigError):
        load_settings(None, env={"MONITOR_DATABASE": "mysql://x/y"})


NAMES = [f"f{i}" for i in range(10)]


def _two_replicas(pg_url: str, n: int) -> tuple:
    a, b = open_database(pg_url), open_database(pg_url)
    sources = [FeedSource(name=f"f{i}", url=f"https://example.org/{i}.xml") for i in range(n)]
    for db in (a, b):
        feed_store.sync_feeds(db, sources, 0.0)
        feed_store.set_active(db, [s.name for s in sources])
    return a, b


def test_due_feeds_are_claimed_by_one_replica_until_the_lease_ends(pg_url: str) -> None:
    a, b = _two_replicas(pg_url, 10)
    mine = leases.claim_due_feeds(a, "a", 100.0, 6, lease_seconds=30)
    theirs = leases.claim_due_feeds(b, "b", 100.0, 10, lease_seconds=30)
    assert len(mine) == 6 and len(theirs) == 4 and not set(mine) & set(theirs)
    # A replica's own leases are its polls in flight: not handed out again either.
    assert leases.claim_due_feeds(b, "b", 110.0, 10, lease_seconds=30) == []
    # a died without releasing: its feeds come free when the lease runs out, not before.
    assert not set(leases.claim_due_feeds(b, "b", 129.0, 10, lease_seconds=30)) & set(mine)
    assert set(leases.claim_due_feeds(b, "b", 131.0, 10, lease_seconds=30)) == \
        set(mine) | set(theirs)      # its own ran out too (a live replica renews them)
    leases.release(b, "b", [mine[0]])
    assert leases.claim_due_feeds(a, "a", 132.0, 10, lease_seconds=30) == [mine[0]]
    assert leases.claims(a, 132.0) == {"a": 1, "b": 9}
    # Only the configured feeds are handed out (the names are kept on the session).
    leases.release(a, "a")
    feed_store.set_active(a, NAMES[:1])
    assert leases.claim_due_feeds(a, "a", 133.0, 10, lease_seconds=30) == [NAMES[0]]
    a.close(), b.close()


def test_claims_made_at_the_same_moment_never_overlap(pg_url: str) -> None:
    dbs = [open_database(pg_url) for _ in range(4)]
    sources = [FeedSource(name=f"f{i}", url=f"https://example.org/{i}.xml") for i in range(200)]
    for db in dbs:
        feed_store.sync_feeds(db, sources, 0.0)
        feed_store.set_active(db, [s.name for s in sources])
    got: dict[str, list[str]] = {}
    start = threading.Barrier(len(dbs))

    def claim(i: int) -> None:
        start.wait()
        got[f"r{i}"] = [n for _ in range(5)
                        for n in leases.claim_due_feeds(dbs[i], f"r{i}", 100.0, 20, 30)]
    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(dbs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [n for names in got.values() for n in set(names)]
    assert len(claimed) == len(set(claimed)), "a feed was claimed by two replicas"
    for db in dbs:
        db.close()


def test_one_leader_and_takeover_when_its_session_ends(pg_url: str) -> None:
    a, b = open_database(pg_url), open_database(pg_url)
    first, second = leases.LeaderLock(a), leases.LeaderLock(b)
    assert first.try_acquire() and not second.try_acquire()
    assert first.check()
    first._raw.close()              # the leader's session dies (a SIGKILLed replica)
    assert not first.check()
    assert second.try_acquire() and not first.try_acquire()
    second.release()
    assert first.try_acquire()
    first.release()
    a.close(), b.close()


def test_near_duplicates_placed_together_by_two_replicas_make_one_story(pg_url: str) -> None:
    dbs = [open_database(pg_url) for _ in range(2)]
    with dbs[0].transaction() as conn:
        conn.execute("INSERT INTO feeds(name, url, created_at) VALUES ('f', 'u', 0)")
        feed = conn.execute("SELECT id FROM feeds").fetchone()[0]
        ids = [conn.execute("INSERT INTO articles(identity, feed_id, first_seen_at) VALUES "
                            "(?, ?, 1000) RETURNING id", (f"a{i}", feed)).fetchone()[0]
               for i in range(2)]
    texts = [WAGNER, WAGNER.replace("قالت مصادر محلية", "أفادت مصادر ليبية") + " بحسب شهود"]
    start = threading.Barrier(2)
    stories: list[int] = []

    def place(i: int) -> None:
        with dbs[i].transaction() as conn:
            start.wait()
            stories.append(assign_story(conn, ids[i], fingerprint(texts[i]), now=1000.0,
                                        window_seconds=86400).story_id)
    threads = [threading.Thread(target=place, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stories) == 2 and stories[0] == stories[1], stories
    for db in dbs:
        db.close()


def test_the_daemons_connection_comes_back_after_a_server_restart() -> None:
    from tests.servers import postgres as server_mod

    with server_mod.running() as srv:
        db = open_database(srv.database())
        feed_store.sync_feeds(db, [FeedSource(name="f", url="https://example.org/f.xml")], 0.0)
        feed_store.set_active(db, ["f"])
        srv.restart()
        with pytest.raises(STORE_ERRORS):      # the statement in flight fails ...
            db.conn.execute("SELECT COUNT(*) FROM feeds").fetchone()
        # ... and the next one runs on a new session, claims included (the active feeds'
        # table of the old session written again).
        assert db.conn.execute("SELECT COUNT(*) FROM feeds").fetchone()[0] == 1
        assert leases.claim_due_feeds(db, "a", 1.0, 5, 30) == ["f"]
        db.close()
