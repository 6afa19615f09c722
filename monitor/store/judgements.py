"""Analysts' judgements of alerts, story and entity mutes, and the Bot API update offset.

Each Telegram update is handled in one transaction that records its effect and advances the
stored offset past it (:func:`advance_offset` in the same transaction), so after a SIGKILL the
next ``getUpdates`` neither loses a press nor applies it twice. A second press by the same
analyst on the same article replaces the first (primary key article × user).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Literal

from monitor.store.db import Database
from monitor.store.triage import queue_tally

Label = Literal["relevant", "not_relevant"]
LABELS: tuple[Label, ...] = ("relevant", "not_relevant")
OFFSET_KEY = "telegram.update_offset"


@dataclass(frozen=True)
class Judge:
    """Who pressed: a Telegram user id and the name shown for them."""

    user_id: int
    name: str = ""


@dataclass(frozen=True)
class Tally:
    """Judgements of one article."""

    relevant: int = 0
    not_relevant: int = 0


@dataclass(frozen=True)
class RulePrecision:
    """Judged alerts of one rule: how many, how many relevant, the relevant share."""

    rule_id: str
    judged: int
    relevant: int

    @property
    def share(self) -> float:
        return self.relevant / self.judged if self.judged else 0.0

    @property
    def not_relevant_share(self) -> float:
        return 1.0 - self.share if self.judged else 0.0


@dataclass(frozen=True)
class JudgedArticle:
    """One judged article with its judgements (for ``monitor labels export``)."""

    article_id: int
    title: str
    text: str
    url: str | None
    outlet: str | None
    rule_id: str | None
    label: Label                         # the majority; a tie counts as relevant
    judges: tuple[tuple[str, int, Label, float], ...]   # (name, user id, label, at)
    last_at: float


# ------------------------------------------------------------------ the update offset


def update_offset(db: Database) -> int:
    """The ``offset`` for the next ``getUpdates`` (0 before the first update)."""
    row = db.conn.execute("SELECT value FROM service_state WHERE key = ?",
                          (OFFSET_KEY,)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def advance_offset(conn: sqlite3.Connection, update_id: int, now: float) -> None:
    """Inside the caller's transaction: update ``update_id`` is done (the offset never moves
    back)."""
    conn.execute(
        "INSERT INTO service_state(key, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = CASE WHEN CAST(service_state.value AS BIGINT) "
        "> CAST(excluded.value AS BIGINT) THEN service_state.value ELSE excluded.value END, "
        "updated_at = excluded.updated_at",
        (OFFSET_KEY, str(update_id + 1), now))


def skip_update(db: Database, update_id: int, now: float) -> None:
    """An update with no stored effect (refused, unknown, a command): only the offset moves."""
    with db.transaction() as conn:
        advance_offset(conn, update_id, now)


# ------------------------------------------------------------------ judgements


def record_judgement(db: Database, *, update_id: int, outbox_id: int, judge: Judge, label: Label,
                     now: float) -> int | None:
    """Record ``judge``'s label for the alert in outbox row ``outbox_id`` and advance the offset,
    in one transaction. Returns the judged article's id, or None when the row is not an alert
    of an article (the offset still moves)."""
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}")
    with db.transaction() as conn:
        advance_offset(conn, update_id, now)
        return _record_judgement(conn, update_id=update_id, outbox_id=outbox_id, judge=judge,
                                 label=label, now=now)


def _record_judgement(conn: sqlite3.Connection, *, update_id: int, outbox_id: int, judge: Judge,
                      label: Label, now: float) -> int | None:
    row = conn.execute("SELECT article_id, payload_json FROM outbox WHERE id = ? AND "
                       "kind = 'alert'", (outbox_id,)).fetchone()
    if row is None or row[0] is None:
        return None
    conn.execute(
        "INSERT INTO judgements(article_id, user_id, user_name, label, rule_id, outbox_id, "
        "update_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(article_id, user_id) DO UPDATE SET label = excluded.label, "
        "user_name = excluded.user_name, rule_id = excluded.rule_id, "
        "outbox_id = excluded.outbox_id, update_id = excluded.update_id, at = excluded.at",
        (row[0], judge.user_id, judge.name, label, _rule_of(row[1]), outbox_id, update_id, now))
    return int(row[0])


def _rule_of(payload_json: str) -> str | None:
    from monitor.alert.payload import AlertPayload

    try:
        return AlertPayload.from_json(payload_json).rule_id
    except (ValueError, TypeError, KeyError):
        return None


def tally(db: Database, article_id: int) -> Tally:
    """How many analysts judged the article relevant and not relevant."""
    return _tally(db.conn, article_id)


def _tally(conn: sqlite3.Connection, article_id: int) -> Tally:
    counts = dict(conn.execute("SELECT label, COUNT(*) FROM judgements WHERE article_id = ? "
                               "GROUP BY label", (article_id,)).fetchall())
    return Tally(int(counts.get("relevant", 0)), int(counts.get("not_relevant", 0)))


def judgement_of(db: Database, article_id: int, user_id: int) -> Label | None:
    """The label one analyst gave an article, if any."""
    row = db.conn.execute("SELECT label FROM judgements WHERE article_id = ? AND user_id = ?",
                          (article_id, user_id)).fetchone()
    return row[0] if row else None


def rule_precision(db: Database, since: float = 0.0) -> list[RulePrecision]:
    """Per rule, judged articles since ``since`` (each article once, by its majority label)."""
    rows = db.conn.execute(
        "SELECT rule_id, COUNT(*), SUM(CASE WHEN rel >= nrel THEN 1 ELSE 0 END) FROM ("
        "  SELECT article_id, MAX(rule_id) AS rule_id,"
        "         SUM(CASE WHEN label = 'relevant' THEN 1 ELSE 0 END) AS rel,"
        "         SUM(CASE WHEN label = 'not_relevant' THEN 1 ELSE 0 END) AS nrel"
        "  FROM judgements WHERE at >= ? GROUP BY article_id) AS j"
        " WHERE rule_id IS NOT NULL GROUP BY rule_id ORDER BY rule_id",
        (since,)).fetchall()
    return [RulePrecision(r[0], int(r[1]), int(r[2] or 0)) for r in rows]


def judged_articles(db: Database, since: float = 0.0) -> list[JudgedArticle]:
    """Every article judged since ``since``, oldest judgement first, with its text."""
    found: dict[int, list[sqlite3.Row]] = {}
    for row in db.conn.execute(
            "SELECT j.*, a.title, a.text, a.feed_summary, a.feed_title, "
            "COALESCE(a.canonical_url, a.page_url) AS url, a.outlet, a.source_outlet "
            "FROM judgements j JOIN articles a ON a.id = j.article_id "
            "WHERE j.article_id IN (SELECT article_id FROM judgements WHERE at >= ?) "
            "ORDER BY j.at, j.user_id", (since,)):
        found.setdefault(row["article_id"], []).append(row)
    return [_judged(rows) for rows in found.values()]


def _judged(rows: list[sqlite3.Row]) -> JudgedArticle:
    first = rows[0]
    relevant = sum(r["label"] == "relevant" for r in rows)
    label: Label = "relevant" if relevant * 2 >= len(rows) else "not_relevant"
    return JudgedArticle(
        article_id=int(first["article_id"]), title=first["title"] or first["feed_title"] or "",
        text=first["text"] or first["feed_summary"] or "", url=first["url"],
        outlet=first["source_outlet"] or first["outlet"], rule_id=first["rule_id"], label=label,
        judges=tuple((r["user_name"], int(r["user_id"]), r["label"], float(r["at"]))
                     for r in rows),
        last_at=max(float(r["at"]) for r in rows))


# ------------------------------------------------------------------ mutes


def mute_story(db: Database, *, update_id: int, outbox_id: int, judge: Judge,
               now: float) -> bool:
    """Mute the story of the alert in ``outbox_id`` and advance the offset, in one transaction.
    Returns False when the row is not an alert (nothing muted)."""
    with db.transaction() as conn:
        advance_offset(conn, update_id, now)
        return _mute_story(conn, outbox_id=outbox_id, judge=judge, now=now)


def _mute_story(conn: sqlite3.Connection, *, outbox_id: int, judge: Judge, now: float) -> bool:
    row = conn.execute("SELECT a.story_id FROM outbox o LEFT JOIN articles a ON "
                       "a.id = o.article_id WHERE o.id = ? AND o.kind = 'alert'",
                       (outbox_id,)).fetchone()
    if row is None:
        return False
    conn.execute("INSERT INTO story_mutes(outbox_id, story_id, user_id, user_name, at) "
                 "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", (outbox_id, row[0], judge.user_id, judge.name, now))
    return True


def story_muted(db: Database, outbox_id: int) -> bool:
    """Whether the story of the alert in ``outbox_id`` was muted (on this alert or on another
    alert of the same story)."""
    row = db.conn.execute(
        "SELECT 1 FROM story_mutes m WHERE m.outbox_id = ? OR (m.story_id IS NOT NULL AND "
        "m.story_id = (SELECT a.story_id FROM outbox o JOIN articles a ON a.id = o.article_id "
        "WHERE o.id = ?)) LIMIT 1", (outbox_id, outbox_id)).fetchone()
    return row is not None


def mute_entity(db: Database, entity: str, *, until: float, judge: Judge, now: float) -> None:
    """Hold alerts whose every entity is muted until ``until`` (a new mute replaces the old)."""
    with db.transaction() as conn:
        conn.execute("INSERT INTO entity_mutes(entity, until, user_id, user_name, at) "
                     "VALUES (?, ?, ?, ?, ?) ON CONFLICT(entity) DO UPDATE SET "
                     "until = excluded.until, user_id = excluded.user_id, "
                     "user_name = excluded.user_name, at = excluded.at",
                     (entity, until, judge.user_id, judge.name, now))


def unmute_entity(db: Database, entity: str) -> bool:
    """End a mute early. Returns whether the entity was muted."""
    with db.transaction() as conn:
        return conn.execute("DELETE FROM entity_mutes WHERE entity = ?", (entity,)).rowcount > 0


def muted_entities(db: Database, now: float) -> dict[str, tuple[float, str]]:
    """Entities muted at ``now`` → (until, who muted them)."""
    return {r[0]: (float(r[1]), r[2]) for r in db.conn.execute(
        "SELECT entity, until, user_name FROM entity_mutes WHERE until > ? ORDER BY entity",
        (now,))}


# ------------------------------------------------------------------ triage presses (the bot)


def judge_alert(db: Database, *, update_id: int, outbox_id: int, judge: Judge, label: Label,
                now: float) -> Tally | None:
    """A ✅/❌ press: the judgement, the offset past the update, and a ``tally`` row queued to
    refresh the alert's buttons, in one transaction (so a SIGKILL leaves all or none). Returns
    the article's new tally, None when the row is not an alert of an article."""
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}")
    with db.transaction() as conn:
        advance_offset(conn, update_id, now)
        article_id = _record_judgement(conn, update_id=update_id, outbox_id=outbox_id,
                                       judge=judge, label=label, now=now)
        if article_id is None:
            return None
        queue_tally(conn, outbox_id=outbox_id, update_id=update_id, now=now)
        return _tally(conn, article_id)


def mute_alert_story(db: Database, *, update_id: int, outbox_id: int, judge: Judge,
                     now: float) -> bool:
    """A 🔕 press: the story mute, the offset, and a ``tally`` row (the buttons then say
    "muted"), in one transaction. False when the row is not an alert."""
    with db.transaction() as conn:
        advance_offset(conn, update_id, now)
        if not _mute_story(conn, outbox_id=outbox_id, judge=judge, now=now):
            return False
        queue_tally(conn, outbox_id=outbox_id, update_id=update_id, now=now)
        return True
