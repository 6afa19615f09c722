"""What the bot command tests share: a state database filled by a real poll of local feeds and
the real store, the repository's rules, and running a command line as the poller would (the
answer checked as Telegram checks HTML)."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.alert.payload import AlertPayload
from monitor.alert.text import FSI, PDI
from monitor.app import load_scorer
from monitor.bot.context import CommandContext
from monitor.bot.replies import COMMANDS
from monitor.config import Settings
from monitor.errors import CommandError
from monitor.store import feeds as feed_store
from monitor.store import judgements, outbox
from monitor.store import service as service_store
from monitor.store.db import Database, open_database
from tests.builders import PARAS, page, rss
from tests.conftest import REPO, make_settings, run_cycle
from tests.servers.http import TestServer
from tests.servers.telegram import MAX_TEXT, check_html, utf16_len, visible_text
from tests.source.e2e import matcher

ARTICLE_TITLE = "يفكوروف في بنغازي"
EVIL_TITLE = "وصول <b>قوات</b> & \"خبراء\" إلى سرت"      # markup-like text from a feed
ANA = judgements.Judge(7, "Ana")
DAY = 86400.0


def answer(ctx: CommandContext, text: str) -> str:
    """Run a command line through the registry as the poller would; returns the visible text
    after checking the HTML the way Telegram does."""
    name, *args = text.lstrip("/").split()
    reply = asyncio.run(COMMANDS[name].handler(ctx, args))
    assert check_html(reply) is None, (check_html(reply), reply)
    shown = visible_text(reply, "HTML")
    assert 0 < utf16_len(shown) <= MAX_TEXT
    return shown.replace(FSI, "").replace(PDI, "")     # Arabic isolated inside label lines


def refused(ctx: CommandContext, text: str) -> str:
    name, *args = text.lstrip("/").split()
    with pytest.raises(CommandError) as info:
        asyncio.run(COMMANDS[name].handler(ctx, args))
    return str(info.value)


def context(settings: Settings, db: Database, *, rules: Callable[[], Any] = matcher,
            **parts: Any) -> CommandContext:
    return CommandContext(db=db, settings=settings, judge=ANA, now=time.time(),
                          matcher=rules, **parts)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestServer, Settings, int]]:
    """A page server, settings allowing it (and a port where nothing listens), the real rules."""
    dead = _closed_port()
    with TestServer() as srv:
        settings = make_settings(
            tmp_path, srv, [
                {"name": "wasat", "url": srv.url("/wasat.xml")},
                {"name": "broken", "url": srv.url("/gone.xml")},
                {"name": "quiet", "url": srv.url("/quiet.xml")}],
            rules_path=str(REPO / "rules"),
            fetch={"allow_addresses": [f"127.0.0.1:{srv.port}", f"127.0.0.1:{dead}"]})
        yield srv, settings, dead


@pytest.fixture
def filled(served: tuple[TestServer, Settings, int]) -> Iterator[tuple[Settings, Database]]:
    """One real poll: 'wasat' brings an alerting Arabic article and an unrelated item, 'broken'
    answers 404, 'quiet' polls fine but last published ten days ago. Then the outbox gets a
    sent alert with a markup-like title, one set aside, one held by a mute and a paused
    destination, and the daemon's rule state is recorded."""
    srv, settings, _ = served
    link = srv.static("/a/1.html", page(ARTICLE_TITLE, PARAS).encode(), "text/html; charset=utf-8")
    srv.static("/wasat.xml", rss([
        {"title": ARTICLE_TITLE, "link": link, "guid": "g1"},
        {"title": "أمطار في درنة", "link": srv.url("/none"), "guid": "g2",
         "description": "توقعات بهطول أمطار غزيرة على مدينة درنة هذا الأسبوع"}]))
    srv.static("/quiet.xml", rss([]))
    now = time.time()
    db = open_database(settings.database)
    states = feed_store.sync_feeds(db, settings.feeds, now - 20 * DAY)
    for at in (now - 10 * DAY, now - 10 * DAY + 3600):      # an hourly feed, silent since
        feed_store.record_success(db, states["quiet"].id, now=at, status="ok", etag=None,
                                  last_modified=None, next_poll_at=at, bozo_note=None,
                                  new_items=1)
    db.close()
    run_cycle(settings, load_scorer(settings))
    db = open_database(settings.database)
    with db.transaction() as conn:
        sent = outbox.enqueue(conn, key="sent-1", destination="default", now=now - 600,
                              payload=AlertPayload(kind="alert", title=EVIL_TITLE,
                                                   rule_id="russian_forces_libya"))
        poison = outbox.enqueue(conn, key="poison", destination="default", now=now - 500,
                                payload=AlertPayload(kind="alert", title="x"))
        held = outbox.enqueue(conn, key="held", destination="default", now=now - 400,
                              payload=AlertPayload(kind="alert", title="y"))
        outbox.enqueue(conn, key="ops-1", destination="ops", now=now - 7200,
                       payload=AlertPayload(kind="notice", title="z"))
        # The alert pipeline holds an alert about muted entities with this status.
        conn.execute("UPDATE outbox SET status = 'muted' WHERE id = ?", (held,))
    assert sent and poison
    outbox.mark_sending(db, sent)
    outbox.mark_sent(db, sent, now=now - 300, message_id=1, chat_id="-100", plain_fallback=False)
    outbox.set_aside(db, poison, reason="Bad Request: can't parse entities")
    outbox.pause(db, "ops", "Forbidden: bot was kicked from the group chat", now - 3600)
    service_store.set_state(db, "rules", {"fingerprint": matcher().ruleset.fingerprint,
                                          "error": None, "path": str(settings.rules_path)},
                            now - 7200)
    try:
        yield settings, db
    finally:
        db.close()
