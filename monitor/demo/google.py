"""The demo's stand-in for Google News: the two requests that resolve a new-form article link.

``data/google/links.json`` maps each article id of ``feeds/google-news-demo.xml`` to a demo
page. ``GET /rss/articles/<id>`` answers the page Google serves (a script shell whose one
``div`` carries the signature ``data-n-a-sg`` and timestamp ``data-n-a-ts``), and
``POST /_/DotsSplashUi/data/batchexecute`` answers the publisher's URL in Google's shape, so the
daemon resolves the demo's Google News items exactly as it resolves the real ones.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import parse_qs

BATCHEXECUTE = "/_/DotsSplashUi/data/batchexecute"
_STAMP = 1764583200      # a fixed timestamp: the signature only has to match what was served


def links(data: Path) -> dict[str, str]:
    """Article id → demo page path."""
    loaded: dict[str, str] = json.loads((data / "google" / "links.json").read_text("utf-8"))
    return loaded


def _signature(link_id: str) -> str:
    return "AZ5r3e" + hashlib.sha256(link_id.encode()).hexdigest()[:40]


def article_page(link_id: str) -> bytes:
    """The page Google serves for an article id (no article in it, only the signature)."""
    return ('<!doctype html><html lang="ar" dir="rtl"><head><meta charset="utf-8">'
            '<title>Google News</title></head><body><c-wiz jsrenderer="ZtU8xc">'
            f'<div jscontroller="aLI87" data-n-a-id="{link_id}" data-n-a-ts="{_STAMP}" '
            f'data-n-a-sg="{_signature(link_id)}"></div></c-wiz></body></html>').encode()


def exchange(form: bytes, known: dict[str, str], base: str) -> bytes:
    """Google's answer to a ``garturlreq`` call: the URL, or its error row for an unknown id
    or a signature this server did not give."""
    url = None
    try:
        envelope = json.loads(parse_qs(form.decode())["f.req"][0])
        _name, _context, link_id, stamp, signature = json.loads(envelope[0][0][1])
        if link_id in known and stamp == _STAMP and signature == _signature(link_id):
            url = f"{base}/{known[link_id]}"
    except (KeyError, IndexError, TypeError, ValueError):
        url = None
    row: list[object] = (["wrb.fr", "Fbv4je", json.dumps(["garturlres", url, 1]), None, None,
                          None, "generic"] if url else
                         ["wrb.fr", "Fbv4je", None, None, None, [3], "generic"])
    return b")]}'\n\n" + json.dumps([row, ["di", 42]]).encode()
