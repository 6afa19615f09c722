"""The judgements store: one judgement per analyst and article, the offset moving with it."""

from __future__ import annotations

from pathlib import Path

from monitor.alert.payload import AlertPayload
from monitor.store import judgements as j
from monitor.store import outbox
from monitor.store.db import open_database


def _db_with_alert(tmp_path: Path, story: int | None = 7):
    db = open_database(tmp_path / "s.db")
    with db.transaction() as conn:
        conn.execute("INSERT INTO feeds(id, name, url, created_at) VALUES (1, 'f', 'u', 0)")
        for art in (1, 2):
            conn.execute("INSERT INTO articles(id, identity, feed_id, title, text, first_seen_at, "
                         "story_id) VALUES (?, ?, 1, 't', 'x', 0, ?)", (art, f"i{art}", story))
        ids = [outbox.enqueue(conn, key=f"k{art}", destination="d", now=0, payload=AlertPayload(
            kind="alert", title="t", rule_id="r1", article_id=art)) for art in (1, 2)]
    return db, ids


def test_second_press_replaces_and_offset_advances(tmp_path: Path) -> None:
    db, (row, _) = _db_with_alert(tmp_path)
    ana = j.Judge(5, "Ana")
    assert j.record_judgement(db, update_id=10, outbox_id=row, judge=ana, label="relevant",
                              now=1) == 1
    assert j.update_offset(db) == 11
    j.record_judgement(db, update_id=12, outbox_id=row, judge=ana, label="not_relevant", now=2)
    j.record_judgement(db, update_id=13, outbox_id=row, judge=j.Judge(6, "Bo"),
                       label="not_relevant", now=3)
    assert j.tally(db, 1) == j.Tally(0, 2)
    assert j.update_offset(db) == 14
    j.skip_update(db, 11, now=4)               # an older update never moves the offset back
    assert j.update_offset(db) == 14
    [prec] = j.rule_precision(db)
    assert (prec.rule_id, prec.judged, prec.relevant) == ("r1", 1, 0)
    [art] = j.judged_articles(db)
    assert art.label == "not_relevant" and len(art.judges) == 2 and art.text == "x"


def test_press_on_a_non_alert_only_moves_the_offset(tmp_path: Path) -> None:
    db, _ = _db_with_alert(tmp_path)
    assert j.record_judgement(db, update_id=3, outbox_id=999, judge=j.Judge(1),
                              label="relevant", now=1) is None
    assert j.update_offset(db) == 4


def test_story_mute_covers_every_alert_of_the_story(tmp_path: Path) -> None:
    db, (a, b) = _db_with_alert(tmp_path)
    assert not j.story_muted(db, b)
    assert j.mute_story(db, update_id=1, outbox_id=a, judge=j.Judge(1), now=1)
    assert j.story_muted(db, a) and j.story_muted(db, b)


def test_entity_mutes_expire(tmp_path: Path) -> None:
    db, _ = _db_with_alert(tmp_path)
    j.mute_entity(db, "wagner", until=100, judge=j.Judge(1, "Ana"), now=0)
    assert j.muted_entities(db, 50) == {"wagner": (100.0, "Ana")}
    assert j.muted_entities(db, 150) == {}
    assert j.unmute_entity(db, "wagner") and not j.unmute_entity(db, "wagner")


def test_judged_articles_keep_their_text_past_retention(tmp_path: Path) -> None:
    from monitor.store.maintenance import drop_text_before

    db, (row, _) = _db_with_alert(tmp_path)
    j.record_judgement(db, update_id=1, outbox_id=row, judge=j.Judge(1), label="relevant", now=1)
    assert drop_text_before(db, 10) == 1        # article 2 loses its text, article 1 keeps it
    assert db.conn.execute("SELECT text FROM articles WHERE id = 1").fetchone()[0] == "x"
