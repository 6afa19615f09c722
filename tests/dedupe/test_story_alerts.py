"""One story, one alert: later reports of an alerted story edit its message."""

from __future__ import annotations

import asyncio
import json

import pytest

from monitor.app import load_scorer, open_app
from monitor.store.db import open_database
from tests.builders import page, rss
from tests.conftest import FAKE_TOKEN, REPO, make_settings
from tests.dedupe.test_stories import DATA

TOKEN = FAKE_TOKEN
VERSIONS = [json.loads(x)["text"] for x in (DATA / "stories_crafted.jsonl").read_text().splitlines()
            if json.loads(x)["story"] == "A"]
OTHER = [json.loads(x)["text"] for x in (DATA / "stories_crafted.jsonl").read_text().splitlines()
         if json.loads(x)["story"] == "C"][0]


@pytest.fixture(autouse=True)
def _token(telegram_token):
    return telegram_token


def publish(server, feed: str, site: str, slug: str, title: str, text: str) -> None:
    server.static(f"/{slug}.html", page(title, [text], site=site).encode(), "text/html")
    server.static(f"/{feed}.xml", rss([{"title": title, "link": server.url(f"/{slug}.html"),
                                        "guid": slug}]))


def settings_for(tmp_path, server, tg, feeds, **stories):
    return make_settings(
        tmp_path, server, [{"name": f, "url": server.url(f"/{f}.xml")} for f in feeds],
        rules_path=str(REPO / "rules"), stories={"reply_every": 1, **stories},
        alerts={"sink": "telegram", "api_base_url": tg.base_url, "digest_threshold": 1000,
                "destinations": {"default": {"chat_id": "@libya_watch"}}})


def cycle(settings, *, drain: bool = True) -> None:
    async def go():
        async with open_app(settings, load_scorer(settings)) as app:
            await app.pipeline.run_cycle(settings.feeds)
            if drain:
                await app.drainer.drain(wait=True)
    asyncio.run(go())


def sends(tg):
    return [p for m, p in tg.requests if m == "sendMessage"]


def edits(tg):
    return [p for m, p in tg.requests if m == "editMessageText"]


def test_rewrites_edit_the_alert_and_copies_count_once(server, tmp_path, tg):
    feeds = ["wasat", "marsad", "copy", "libya24", "arabi21"]
    settings = settings_for(tmp_path, server, tg, feeds)
    for f in feeds:
        server.static(f"/{f}.xml", rss([]))
    publish(server, "wasat", "بوابة الوسط", "a1", "يفكوروف في بنغازي", VERSIONS[0])
    cycle(settings)
    assert len(sends(tg)) == 1 and not edits(tg)
    first_id = tg.messages[0]["message_id"]

    publish(server, "marsad", "المرصد", "a2", "زيارة جديدة ليفكوروف", VERSIONS[1])
    cycle(settings)
    assert len(sends(tg)) == 1, "a rewrite of an alerted story must not send a new message"
    assert len(edits(tg)) == 1
    edit = edits(tg)[0]
    assert int(edit["message_id"]) == first_id and "also reported by 1" in edit["text"]
    assert "المرصد" in edit["text"]

    # The same text again under another link and outlet: an exact copy, nothing new to say.
    publish(server, "copy", "ناقل", "a2-copy", "نسخة", VERSIONS[1])
    cycle(settings)
    assert len(edits(tg)) == 1

    publish(server, "libya24", "ليبيا 24", "a3", "يفكوروف يلتقي حفتر", VERSIONS[2])
    cycle(settings)
    assert len(sends(tg)) == 1 and len(edits(tg)) == 2
    assert "also reported by 2" in edits(tg)[1]["text"]

    # A different story about the same people is a new alert.
    publish(server, "arabi21", "عربي 21", "c1", "رحلات شحن روسية إلى الجفرة", OTHER)
    cycle(settings)
    assert len(sends(tg)) == 2
    db = open_database(settings.database)
    stories = dict(db.conn.execute("SELECT canonical_url, story_id FROM articles").fetchall())
    db.close()
    urls = {k.rsplit("/", 1)[-1]: v for k, v in stories.items()}
    assert urls["a1.html"] == urls["a2.html"] == urls["a3.html"] == urls["a2-copy.html"]
    assert urls["c1.html"] != urls["a1.html"]


def test_update_before_the_alert_is_sent_is_merged_into_it(server, tmp_path, tg):
    settings = settings_for(tmp_path, server, tg, ["wasat", "marsad"])
    publish(server, "wasat", "بوابة الوسط", "a1", "يفكوروف في بنغازي", VERSIONS[0])
    publish(server, "marsad", "المرصد", "a2", "زيارة جديدة ليفكوروف", VERSIONS[1])
    cycle(settings)
    assert len(sends(tg)) == 1 and not edits(tg)
    assert "also reported by 1" in tg.messages[0]["text"]


def test_uneditable_message_gets_a_threaded_reply(server, tmp_path, tg):
    settings = settings_for(tmp_path, server, tg, ["wasat", "marsad"], reply_every=1)
    server.static("/marsad.xml", rss([]))
    publish(server, "wasat", "بوابة الوسط", "a1", "يفكوروف في بنغازي", VERSIONS[0])
    cycle(settings)
    tg.script("editMessageText", (400, "Bad Request: message to edit not found"))
    publish(server, "marsad", "المرصد", "a2", "زيارة جديدة ليفكوروف", VERSIONS[1])
    cycle(settings)
    replies = sends(tg)[1:]
    assert len(replies) == 1
    assert json.loads(replies[0]["reply_parameters"])["message_id"] == tg.messages[0]["message_id"]
    assert "also reported by" in replies[0]["text"] and "المرصد" in replies[0]["text"]
