"""Turning fetched bytes into correctly decoded text, for Arabic feeds and pages.

Arabic sites still serve windows-1256, often with a wrong or missing label. feedparser turns
mislabelled cp1256 into windows-1252 mojibake, and a wrong HTTP charset on UTF-8 bytes gives
silent mojibake. The rules here, in order:

1. A byte-order mark, or the NUL pattern of UTF-16/32 without one (XML 1.0 appendix F), decides.
2. Bytes that are valid UTF-8 are UTF-8 (cp1256 Arabic is almost never valid UTF-8).
3. Otherwise the decision is taken per part: per item for a feed (one stray byte, or one item
   pasted from a cp1256 page, must not turn every other item into mojibake), the whole page for
   HTML. A part that is UTF-8 but for a few broken bytes stays UTF-8 with U+FFFD in their place;
   any other part goes through the declared charsets in order (HTTP header, XML declaration or
   meta tag), checked by a strict decode, then windows-1256.

Only text encodings are accepted as labels: ``charset=base64``, ``encoding="undefined"`` or
``<meta charset="rot13">`` name codecs Python has, but not character sets, and count as unknown.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

_XML_ENC = re.compile(rb'<\?xml[^>]{0,200}?encoding\s*=\s*["\']([\w.:-]{1,40})["\']', re.I)
_META_CHARSET = re.compile(rb'<meta[^>]{0,300}?charset\s*=\s*["\']?([\w.:-]{1,40})', re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]{1,40})", re.I)
# Where a feed's items start: the unit of the per-part decision (any namespace prefix).
_ITEM_START = re.compile(rb"(?=<(?:[A-Za-z][\w.-]{0,40}:)?(?:item|entry)[\s/>])", re.I)
# Labels that "succeed" on any byte string and so prove nothing: an Arabic site declaring them
# almost always means windows-1256.
_WEAK_LABELS = {"iso-8859-1", "latin-1", "latin1", "windows-1252", "cp1252", "us-ascii", "ascii"}
# Codecs Python knows that are not character sets a document could be written in. UTF-16/32
# are recognised by their byte patterns (rule 1) and never trusted from a label alone: any
# even-length byte string "decodes" as UTF-16.
_NOT_CHARSETS = {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "utf-7",
                 "charmap", "undefined", "mbcs", "oem"}
# Labels browsers know (WHATWG Encoding) that Python spells differently.
_ALIASES = {"iso-8859-6-i": "iso8859-6", "iso-8859-6-e": "iso8859-6",
            "x-mac-arabic": "mac-arabic", "x-cp1256": "cp1256", "utf8mb4": "utf-8"}
_BOMS = [(codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be")]
FALLBACK = "cp1256"


def text_codec(label: str) -> str | None:
    """Python's codec name for a charset label, or None when it is not a usable text encoding."""
    label = _ALIASES.get(label.strip().lower(), label.strip())
    try:
        name = codecs.lookup(label).name
        b"a".decode(name)   # LookupError: base64, rot13, hex… (bytes-to-bytes); UnicodeError: undefined
    except (LookupError, UnicodeError):
        return None
    if name in _NOT_CHARSETS or name.startswith(("utf-16", "utf-32")):
        return None
    return name


def sniff_unicode(raw: bytes) -> str | None:
    """UTF-8/16/32 told by a byte-order mark or by the NUL pattern of the first characters."""
    for bom, name in _BOMS:
        if raw.startswith(bom):
            return name
    head = raw[:4]
    if len(head) == 4:
        if head[1:4] == b"\0\0\0" and head[0]:
            return "utf-32-le"
        if head[:3] == b"\0\0\0" and head[3]:
            return "utf-32-be"
        if head[0] and not head[1] and head[2] and not head[3]:
            return "utf-16-le"
        if not head[0] and head[1] and not head[2] and head[3]:
            return "utf-16-be"
    return None


def decode_document(raw: bytes, declared: list[str],
                    split: Callable[[bytes], list[bytes]] | None = None) -> tuple[str, str]:
    """Decode with the rules above; ``split`` cuts the bytes into independently decoded parts.
    Returns (text, codec name used; ``mixed`` when the parts differ)."""
    unicode = sniff_unicode(raw)
    if unicode:
        text = raw.decode(unicode, errors="replace")
        return text.removeprefix("\ufeff"), unicode
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    parts = split(raw) if split else [raw]
    decoded = [decode_part(part, declared) for part in parts]
    names = {name for _, name in decoded}
    return "".join(text for text, _ in decoded), names.pop() if len(names) == 1 else "mixed"


def decode_part(raw: bytes, declared: list[str], fallback: str = FALLBACK) -> tuple[str, str]:
    """One part: UTF-8 (or nearly), else the declared charsets, else ``fallback``."""
    lenient = raw.decode("utf-8", errors="replace")
    broken = lenient.count("\ufffd") - raw.count("\ufffd".encode())   # minus genuine U+FFFD
    if not broken:
        return lenient, "utf-8"
    multibyte = len(lenient) - len(lenient.encode("ascii", "ignore")) - broken
    # cp1256 Arabic read as UTF-8 is mostly broken sequences; UTF-8 with a stray byte is not.
    if multibyte >= 8 * broken:
        return lenient, "utf-8"
    weak: list[str] = []
    for label in declared:
        name = text_codec(label)
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


def split_items(raw: bytes) -> list[bytes]:
    """A feed's bytes cut before each ``<item>`` / ``<entry>`` start tag (ASCII in every
    encoding this module decodes per part)."""
    return _ITEM_START.split(raw)


def header_charsets(content_type: str | None) -> list[str]:
    """Charsets named in a Content-Type header."""
    return _HEADER_CHARSET.findall(content_type or "")


def decode_feed(raw: bytes, content_type: str | None) -> str:
    """A feed body as text: header charset, then the XML declaration's, checked per item."""
    declared = header_charsets(content_type) + [m.decode() for m in _XML_ENC.findall(raw[:400])]
    text, _ = decode_document(raw, declared, split_items)
    return text


def decode_html(raw: bytes, content_type: str | None) -> str:
    """An article page as text: header charset, then ``<meta charset>``, checked as above."""
    declared = header_charsets(content_type) + [m.decode() for m in _META_CHARSET.findall(raw[:4096])]
    text, _ = decode_document(raw, declared)
    return text
