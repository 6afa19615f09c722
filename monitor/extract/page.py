"""trafilatura on one page. Runs inside a worker process: keep it free of loop or DB state."""

from __future__ import annotations

import re

from monitor.dedupe.fingerprint import fingerprint, story_body
from monitor.models import Extracted

_HTML_LANG = re.compile(r"<html[^>]*\blang=[\"']?([A-Za-z-]{2,10})", re.I)
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF]")
_LETTER = re.compile(r"[^\W\d_]")
_DATE_PARAMS = {"outputformat": "%Y-%m-%dT%H:%M:%S%z", "original_date": True,
                "extensive_search": True}


def extract_page(html: str, url: str, max_text_chars: int | None = None) -> Extracted:
    """Main text and metadata of an article page (text is '' when nothing was found). A text
    over ``max_text_chars`` is cut at a word boundary and ``note`` says so."""
    import trafilatura  # imported here: only worker processes pay the 0.2 s import

    doc = trafilatura.bare_extraction(
        html, url=url, include_comments=False, include_tables=True, with_metadata=True,
        deduplicate=False, date_extraction_params=_DATE_PARAMS)
    if doc is None:
        return Extracted(title=None, text="", published=None, author=None,
                         language=detect_language("", html))
    text, note = _cap_text((doc.text or "").strip(), max_text_chars)
    title = doc.title or None
    return Extracted(title=title, text=text, published=doc.date or None, note=note,
                     author=doc.author or None, language=detect_language(text, html),
                     sitename=doc.sitename or None,
                     # CPU work done here, in the worker process, not on the event loop.
                     fingerprint=fingerprint(story_body(title or "", text)) if text else None)


def _cap_text(text: str, limit: int | None) -> tuple[str, str | None]:
    """No article is megabytes long, and matching costs 60–100 bytes of memory a character."""
    if limit is None or len(text) <= limit:
        return text, None
    cut = text.rfind(" ", limit - 1000, limit)
    return (text[:cut if cut > 0 else limit],
            f"text cut from {len(text):,} characters (extract.max_text_chars: {limit:,})")


def detect_language(text: str, html: str = "") -> str | None:
    """'ar' when most letters are Arabic script; else the page's ``<html lang>``; else None."""
    letters = _LETTER.findall(text[:5000])
    if letters:
        share = len(_ARABIC.findall(text[:5000])) / len(letters)
        if share > 0.5:
            return "ar"
    match = _HTML_LANG.search(html[:2000])
    if match:
        return match.group(1).split("-")[0].lower()
    return None
