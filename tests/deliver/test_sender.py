"""The sender's finer rules, in process against the fake Bot API: the probe cuts our own back-off
short but never a retry_after; a digest set aside gives its alerts back; unexpected errors stay
with their message; folded alerts count as pending until their digest is out."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from monitor.alert.digest import MAX_DIGEST_ITEMS
from monitor.alert.payload import AlertPayload
from monitor.app import open_app
from monitor.config import Settings, load_settings
from monitor.deliver.base import SendResult
from monitor.deliver.console import ConsoleSink
from monitor.deliver.destinations import unconfigured_destinations
from monitor.deliver.drain import POISON_ATTEMPTS, Drainer
from monitor.errors import ConfigError
from monitor.match.model import Rule
from monitor.store import outbox
from monitor.store.db import open_database
from tests.servers.telegram import FakeTelegram


@pytest.fixture(autouse=True)
def _token(telegram_token: str) -> str:
    return telegram_token


def settings_for(tmp_path: Path, tg: FakeTelegram | None, **alerts: Any) -> Settings:
    conf: dict[str, Any] = {"sink": "telegram" if tg else "console", "send_timeout": 2,
                            "retry_base_seconds": 0.2, "probe_seconds": 0.5, **alerts}
    if tg:
        conf.update(api_base_url=tg.base_url, destinations={
            "default": {"chat_id": "@a"}, "ops": {"chat_id": "@b"}})
    return load_settings(None, env={}, overrides={
        "database": str(tmp_path / "monitor.db"), "rules_path": str(tmp_path / "none"),
        "alerts": conf, "ops": {"notices": False}, "feeds": []})


def alert(i: int, severity: str = "medium") -> AlertPayload:
    return AlertPayload(kind="alert", title=f"خبر {i}", url=f"https://e.example/{i}",
                        outlet="الوسط", severity=severity, rule_id="r", rule_title="Rule")


def queue(settings: Settings, rows: list[tuple[str, AlertPayload]]) -> list[int]:
    db = open_database(settings.database)
    try:
        for n, (dest, payload) in enumerate(rows):
            outbox.enqueue_now(db, key=f"k{n}", destination=dest, payload=payload,
                               now=time.time())
        return [r.id for d in sorted({d for d, _ in rows}) for r in outbox.pending(db, d)]
    finally:
        db.close()


async def run_sender(settings: Settings, until: Any, timeout: float = 30,
                     sink: Any = None) -> Drainer:
    """The daemon's sender (Drainer.run, probe included) until ``until(drainer)`` holds."""
    async with open_app(settings) as app:
        if sink is not None:
            app.drainer.sink = sink
        stop = asyncio.Event()
        task = asyncio.create_task(app.drainer.run(stop))
        deadline = time.monotonic() + timeout
        try:
            while not until(app.drainer):
                assert time.monotonic() < deadline, "sender did not get there in time"
                assert not task.done(), "the sender task ended"
                await asyncio.sleep(0.05)
        finally:
            stop.set()
            app.drainer.wake.set()
            await asyncio.wait_for(task, 10)
        return app.drainer


def test_probe_ends_our_back_off_when_telegram_answers_again(tmp_path, tg):
    settings = settings_for(tmp_path, tg, retry_base_seconds=30)   # own back-off: 15-45 s
    queue(settings, [("ops", alert(1))])
    tg.down = True                                                  # getMe fails too
    marks: dict[str, float] = {}

    def until(drainer: Drainer) -> bool:
        calls = [m for m, _, _ in tg.timed_requests]
        if tg.down and "sendMessage" in calls and calls.count("getMe") >= 2:
            tg.down, marks["up"] = False, time.monotonic()          # the probe saw the outage
        return bool(tg.messages)
    asyncio.run(run_sender(settings, until))
    sends = [t for m, _, t in tg.timed_requests if m == "sendMessage"]
    probes = [t for m, _, t in tg.timed_requests if m == "getMe" and t > marks["up"]]
    assert len(sends) == 2 and sends[1] - marks["up"] < 5          # not 15-45 s later
    assert probes and probes[0] < sends[1]                          # the probe's answer did it


def test_a_retry_after_is_never_cut_short(tmp_path, tg):
    """Not by the probe's recovery, not by a new process (`monitor once` right after)."""
    settings = settings_for(tmp_path, tg)
    queue(settings, [("default", alert(1))])
    tg.script("sendMessage", (429, {"retry_after": 3}))

    async def once(end_back_off: bool = False) -> int:
        async with open_app(settings) as app:
            if end_back_off:
                app.drainer.waits.end_own_backoff()     # what the probe does on recovery
            return (await app.drainer.drain(wait=False)).sent
    assert asyncio.run(once()) == 0                      # the 429
    assert asyncio.run(once(end_back_off=True)) == 0     # still inside retry_after: nothing
    time.sleep(3)
    assert asyncio.run(once()) == 1
    sends = [t for m, _, t in tg.timed_requests if m == "sendMessage"]
    assert len(sends) == 2 and sends[1] - sends[0] >= 3.0


def test_digest_set_aside_gives_its_alerts_back_one_by_one(tmp_path, tg):
    settings = settings_for(tmp_path, tg, digest_threshold=2, digest_individual=0)
    ids = queue(settings, [("default", alert(i)) for i in range(3)])
    db = open_database(settings.database)
    broken = AlertPayload(kind="digest", title="broken", items=(42,))  # type: ignore[arg-type]
    digest_id = outbox.fold_into_digest(db, ids, destination="default", payload=broken,
                                        now=time.time())
    db.close()
    asyncio.run(run_sender(settings, lambda d: not outbox.status_rows(d.db)[0]["pending"]))
    db = open_database(settings.database)
    try:
        assert len(tg.messages) == 3
        assert outbox.get_row(db, digest_id)["status"] == "rejected"
        assert [outbox.get_row(db, i)["status"] for i in ids] == ["sent"] * 3
        row = outbox.status_rows(db)[0]
        assert (row["pending"], row["sent"], row["folded"], row["rejected"]) == (0, 3, 0, 1)
    finally:
        db.close()
    assert all("digest" not in m["text"] for m in tg.messages)     # single, not folded again


class _FailsOnTitle(ConsoleSink):
    """Fault injection: a sink with a bug that only one message triggers."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[str] = []

    async def send(self, chat_id: str | int, html: str, **kwargs: Any) -> SendResult:
        if "خبر 0" in html:
            raise RuntimeError("bug triggered by this message")
        self.sent.append(html)
        return SendResult(len(self.sent), str(chat_id))


def test_an_unexpected_error_stays_with_its_message(tmp_path, capsys):
    settings = settings_for(tmp_path, None, retry_base_seconds=0.01, retry_max_seconds=0.02)
    ids = queue(settings, [("default", alert(i)) for i in range(3)])
    sink = _FailsOnTitle()
    drainer = asyncio.run(run_sender(settings, lambda d: len(sink.sent) == 2, sink=sink))
    db = open_database(settings.database)
    try:
        first = outbox.get_row(db, ids[0])
        assert first["status"] == "rejected" and "RuntimeError" in first["last_error"]
        assert drainer._unexpected[ids[0]] == POISON_ATTEMPTS
    finally:
        db.close()


def test_folded_alerts_count_as_pending_until_their_digest_is_out(tmp_path, tg):
    settings = settings_for(tmp_path, tg, digest_threshold=5, digest_individual=1)
    tg.down = True
    queue(settings, [("default", alert(i, "high")) for i in range(12)])

    async def once() -> None:
        async with open_app(settings) as app:
            await app.drainer.drain(wait=False)
    asyncio.run(once())
    db = open_database(settings.database)
    try:
        row = outbox.status_rows(db)[0]
        assert (row["pending"], row["sent"], row["folded"]) == (12, 0, 0)
        assert outbox.pending(db, "default")[-1].kind == "digest"
    finally:
        db.close()
    tg.down = False
    asyncio.run(once())
    db = open_database(settings.database)
    try:
        row = outbox.status_rows(db)[0]
        assert (row["pending"], row["sent"], row["folded"]) == (0, 1, 11)
    finally:
        db.close()


def test_unconfigured_destination_check() -> None:
    alerts = load_settings(None, env={}, overrides={"alerts": {"destinations": {
        "default": {"chat_id": "@a"}}}}).alerts
    rules = [Rule("ok", "ok", destination="default", source="r.yaml:1"),
             Rule("typo", "t", destination="defualt", source="r.yaml:9")]
    [warning] = unconfigured_destinations(rules, alerts)
    assert warning.startswith("r.yaml:9: rule 'typo': destination 'defualt' is not configured")
    assert warning.endswith("fall back to the default destination 'default'")
    no_destinations = load_settings(None, env={}, overrides={}).alerts     # console: names as is
    assert unconfigured_destinations(rules, no_destinations) == []


def test_digest_size_that_cannot_be_honoured_is_refused() -> None:
    load_settings(None, env={}, overrides={"alerts": {"digest_max_items": MAX_DIGEST_ITEMS}})
    with pytest.raises(ConfigError, match="digest_max_items.*at most 50"):
        load_settings(None, env={}, overrides={"alerts": {"digest_max_items": MAX_DIGEST_ITEMS + 1}})


def test_message_telegram_refuses_is_set_aside_and_the_next_goes(tmp_path, tg):
    settings = settings_for(tmp_path, tg)
    ids = queue(settings, [("default", alert(0)), ("default", alert(1))])
    tg.script("sendMessage", (400, "Bad Request: message is too long"))
    asyncio.run(run_sender(settings, lambda d: not outbox.status_rows(d.db)[0]["pending"]))
    db = open_database(settings.database)
    try:
        first, second = (outbox.get_row(db, i) for i in ids)
        assert first["status"] == "rejected" and "too long" in first["last_error"]
        assert second["status"] == "sent"
        assert outbox.status_rows(db)[0]["rejected_reason"] == first["last_error"]
    finally:
        db.close()


def test_unreadable_row_is_set_aside(tmp_path, tg):
    settings = settings_for(tmp_path, tg)
    ids = queue(settings, [("default", alert(0)), ("default", alert(1))])
    db = open_database(settings.database)      # a corrupt row, or one from another version
    db.conn.execute("UPDATE outbox SET payload_json = '{\"kind\": \"alert\", \"colour\": 1}' "
                    "WHERE id = ?", (ids[0],))
    db.close()
    asyncio.run(run_sender(settings, lambda d: not outbox.status_rows(d.db)[0]["pending"]))
    db = open_database(settings.database)
    try:
        first = outbox.get_row(db, ids[0])
        assert first["status"] == "rejected" and "unreadable payload" in first["last_error"]
        assert outbox.get_row(db, ids[1])["status"] == "sent"
    finally:
        db.close()
    assert len(tg.messages) == 1


def test_an_unwritable_jsonl_file_is_a_temporary_failure(tmp_path):
    from monitor.deliver.console import JsonlSink
    from monitor.errors import RetryLater

    sink = JsonlSink(tmp_path)            # a folder where the file should be: cannot append
    with pytest.raises(RetryLater, match="cannot append"):
        asyncio.run(sink.send("default", "<b>x</b>", plain_fallback="x"))
