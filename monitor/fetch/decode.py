"""Turning fetched bytes into correctly decoded text, for Arabic feeds and pages.

Arabic sites still serve windows-1256, often with a wrong or missing label. feedparser turns
mislabelled cp1256 into windows-1252 mojibake, and a wrong HTTP charset on UTF-8 bytes gives
silent mojibake. The rule here: bytes that are valid UTF-8 are UTF-8 (cp1256 Arabic is almost
never valid UTF-8); otherwise the declared charsets in order (HTTP header, XML declaration or
meta tag), checked by a strict decode; otherwise windows-1256.
"""

from __future__ import annotations

import codecs
import re

_DOCTYPE = re.compile(rb"<!DOCTYPE[^>\[]*(\[.*?\])?\s*>", re.I | re.S)
_XMLDECL_ENC = re.compile(rb'^(\s*<\?xml[^>]*?encoding=)(["\'])[^"\']*\2', re.I)
_XML_ENC = re.compile(rb'<\?xml[^>]*?encoding=["\']([\w.:-]+)["\']', re.I)
_META_CHARSET = re.compile(rb'<meta[^>]+charset=["\']?([\w.:-]+)', re.I)
_HEADER_CHARSET = re.compile(r"charset=[\"']?([\w.:-]+)", re.I)
# Labels that "succeed" on any byte string and so prove nothing: an Arabic site declaring them
# almost always means windows-1256.
_WEAK_LABELS = {"iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252", "us-ascii", "ascii"}


def _codec(label: str) -> str | None:
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def decode_bytes(raw: bytes, declared: list[str], fallback: str = "cp1256") -> tuple[str, str]:
    """Decode with the rule above. Returns (text, codec name used)."""
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    weak: list[str] = []
    for label in declared:
        name = _codec(label)
        if name is None or name == "utf-8":
            continue
        if label.lower() in _WEAK_LABELS or name in {"latin-1", "cp1252", "ascii"}:
            weak.append(name)
            continue
        try:
            return raw.decode(name), name
        except UnicodeDecodeError:
            continue
    for name in [fallback, *weak]:
        try:
            return raw.decode(name), name
        except UnicodeDecodeError:
            continue
    return raw.decode(fallback, errors="replace"), fallback


def header_charsets(content_type: str | None) -> list[str]:
    """Charsets named in a Content-Type header."""
    return _HEADER_CHARSET.findall(content_type or "")


def prepare_feed_bytes(raw: bytes, content_type: str | None) -> bytes:
    """Feed bytes re-encoded as UTF-8 with a matching XML declaration and no DOCTYPE.

    Dropping the DOCTYPE removes every entity declaration: feedparser's lenient fallback parser
    otherwise expands a "safe" internal entity referenced thousands of times (a 35 KB feed grew a
    100 MB title). Pass the result to feedparser with a ``utf-8`` content type.
    """
    root = re.search(rb"<[A-Za-z]", raw)
    cut = root.start() if root else len(raw)
    raw = _DOCTYPE.sub(b"", raw[:cut], count=1) + raw[cut:]
    declared = header_charsets(content_type) + [m.decode() for m in _XML_ENC.findall(raw[:300])]
    text, _ = decode_bytes(raw, declared)
    return _XMLDECL_ENC.sub(rb'\1"utf-8"', text.encode("utf-8"), count=1)


def decode_html(raw: bytes, content_type: str | None) -> str:
    """An article page as text: header charset, then ``<meta charset>``, checked as above."""
    declared = header_charsets(content_type) + [m.decode() for m in _META_CHARSET.findall(raw[:4096])]
    text, _ = decode_bytes(raw, declared)
    return text
