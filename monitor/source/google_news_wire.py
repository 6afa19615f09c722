"""What Google News sends and expects when one of its item links is turned into the publisher's URL.

Pure functions on strings and bytes, no I/O: the resolver (:mod:`monitor.source.google_news`)
does the requests through our own Fetcher.

The protocol is Google's and undocumented. We read it in the maintained decoder, SSujitX's
``googlenewsdecoder`` (https://github.com/SSujitX/google-news-url-decoder: ``_parse.py`` and
``decoder_async.py`` for the two-step exchange, ``decoderv1.py`` for the older ids, after
huksley's gist), and wrote it again here over our client. In short:

* an article id is URL-safe base64 of a small protobuf: field 1 a varint (0x13), field 4 the
  payload, sometimes field 26 (an AMP URL). Older ids carry the publisher URL in field 4; ids made
  since mid-2024 carry an opaque token starting ``AU_yqL``, which only Google can turn into a URL;
* for those, the article page (``/rss/articles/<id>``) carries a signature and a timestamp in the
  ``data-n-a-sg`` and ``data-n-a-ts`` attributes of one element (``c-wiz > div[jscontroller]``);
* one POST to ``/_/DotsSplashUi/data/batchexecute`` with the form field ``f.req`` holding the
  ``garturlreq`` call (id, timestamp, signature) for the RPC ``Fbv4je`` answers ``)]}'``, a blank
  line and a JSON array of rows; the ``wrb.fr`` row of ``Fbv4je`` holds, as a JSON string,
  ``["garturlres", "<publisher URL>", 1]``, or null and an error code when Google refuses.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import re
from dataclasses import dataclass

from monitor.errors import ParseError

BATCHEXECUTE_PATH = "/_/DotsSplashUi/data/batchexecute"
RPC_ID = "Fbv4je"
#: Real ids are a few hundred characters; anything much longer is not one.
MAX_ID_LENGTH = 4096
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]+={0,2}")
#: How field 4 of a new-form id starts: an opaque token, not a URL.
NEW_FORM_PREFIX = "AU_yqL"
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
# A name only right after a space or a quote, possessive: linear even on a tag of one long word.
_ATTRIBUTE = re.compile(r"""(?<=[\s"'])(?P<name>[^\s"'=<>/]++)\s*=\s*"""
                        r"""(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<bare>[^\s"'=<>`]+))""")
_MAX_TAG = 20_000

# The client context of every garturlreq, as the maintained decoder sends it (placeholders).
_GARTURLREQ_CONTEXT: list[object] = [
    ["X", "X", ["X", "X"], None, None, 1, 1, "US:en", None, 1, None, None, None, None, None, 0, 1],
    "X", "X", 1, [1, 1, 1], 1, 1, None, 0, 0, None, 0,
]


@dataclass(frozen=True)
class Refusal:
    """Google answered the exchange with an error row instead of a URL; ``code`` as it sent it."""

    code: int | None


def decode_offline(link_id: str) -> str | None:
    """The URL carried by an older (``CBMi…``) article id, or None.

    None for a new-form id (which needs the exchange) and for anything that is not an id at all:
    wrong alphabet, bad padding, not a protobuf, a payload that is not text with a URL scheme.
    Never raises. The scheme is not checked here: the caller refuses what is not http(s).
    """
    if not isinstance(link_id, str) or len(link_id) > MAX_ID_LENGTH:
        return None
    if not ID_PATTERN.fullmatch(link_id):
        return None
    bare = link_id.rstrip("=")
    try:
        raw = base64.urlsafe_b64decode(bare + "=" * (-len(bare) % 4))
    except (binascii.Error, ValueError):
        return None
    payload = _field(raw, 4)
    if payload is None:
        return None
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text.startswith(NEW_FORM_PREFIX) or not _SCHEME.fullmatch(text):
        return None
    return text


def _varint(data: bytes, pos: int) -> tuple[int, int] | None:
    """(value, next position) of the varint at ``pos``, None if truncated or over 10 bytes."""
    value = 0
    for shift in range(0, 70, 7):
        if pos >= len(data):
            return None
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
    return None


def _field(data: bytes, wanted: int) -> bytes | None:
    """The first length-delimited field ``wanted`` of a protobuf message, walking with bounds
    checks; stops at the first malformed byte (trailing junk after the field does not matter)."""
    pos = 0
    while pos < len(data):
        key = _varint(data, pos)
        if key is None:
            return None
        tag, pos = key
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            step = _varint(data, pos)
            if step is None:
                return None
            pos = step[1]
        elif wire == 2:
            length = _varint(data, pos)
            if length is None or length[1] + length[0] > len(data):
                return None
            start, pos = length[1], length[1] + length[0]
            if number == wanted:
                return data[start:pos]
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            return None
    return None


def _signature_tag(page: str) -> dict[str, str] | None:
    """The attributes of the first tag carrying either attribute, or None.

    Not html.parser: it raises AssertionError on markup such as ``<![zz[`` and would run on the
    event loop over the whole page; this is two finds and one linear regex over a single tag.
    """
    at = min((i for i in (page.find("data-n-a-sg"), page.find("data-n-a-ts")) if i >= 0),
             default=-1)
    if at < 0:
        return None
    start, end = page.rfind("<", 0, at), page.find(">", at)
    # Bounded on both sides of the attribute: a tag of megabytes is not Google's page anyway.
    tag = page[max(start, at - _MAX_TAG, 0):min(end if end >= 0 else len(page), at + _MAX_TAG)]
    return {m["name"].lower(): html.unescape(m["dq"] if m["dq"] is not None else
                                             m["sq"] if m["sq"] is not None else m["bare"])
            for m in _ATTRIBUTE.finditer(tag)}


def read_signature(page: bytes) -> tuple[str, int]:
    """(signature, timestamp) from an article page. Raises :class:`ParseError` naming what is
    missing or malformed (Google changed the page, or served something else)."""
    attrs = _signature_tag(page.decode("utf-8", "replace"))
    if attrs is None:
        raise ParseError("article page has no data-n-a-sg and data-n-a-ts attributes "
                         "(Google changed the page, or served an interstitial)")
    signature = attrs.get("data-n-a-sg", "").strip()
    stamp = attrs.get("data-n-a-ts", "").strip()
    missing = [name for name, value in (("data-n-a-sg", signature), ("data-n-a-ts", stamp))
               if not value]
    if missing:
        raise ParseError(f"article page lacks the {' and '.join(missing)} attribute")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 20:
        raise ParseError(f"article page's data-n-a-ts is not a timestamp: {stamp[:40]!r}")
    return signature, int(stamp)


def request_form(link_id: str, timestamp: int, signature: str) -> dict[str, str]:
    """The form of the batchexecute POST that exchanges one id for its URL."""
    call = ["garturlreq", _GARTURLREQ_CONTEXT, link_id, timestamp, signature]
    envelope = [[[RPC_ID, json.dumps(call, separators=(",", ":")), None, "generic"]]]
    return {"f.req": json.dumps(envelope, separators=(",", ":"))}


def read_answer(body: bytes) -> str | Refusal:
    """The URL in a batchexecute answer, or the :class:`Refusal` Google sent instead.
    Raises :class:`ParseError` when the answer does not have the known shape."""
    text = body.decode("utf-8", "replace").lstrip()
    if not text.startswith(")]}'"):
        raise ParseError("batchexecute answer lacks the )]}' prefix")
    for row in _rows(text[4:]):
        if len(row) < 3 or row[0] != "wrb.fr" or row[1] != RPC_ID:
            continue
        if row[2] is None:
            return Refusal(_error_code(row))
        if not isinstance(row[2], str):
            raise ParseError(f"batchexecute {RPC_ID} payload is not a JSON string")
        try:
            payload = json.loads(row[2])
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"batchexecute {RPC_ID} payload is not JSON: {exc}") from None
        if (isinstance(payload, list) and len(payload) >= 2 and payload[0] == "garturlres"
                and isinstance(payload[1], str)):
            return payload[1]
        raise ParseError(f"batchexecute {RPC_ID} payload is not a garturlres with a URL: "
                         f"{row[2][:80]!r}")
    raise ParseError(f"batchexecute answer has no wrb.fr row for {RPC_ID}")


def _rows(text: str) -> list[list[object]]:
    """The rows of an answer: one JSON array of rows, or (with ``rt=c``) several arrays each
    after a line holding its length."""
    decoder = json.JSONDecoder()
    rows: list[list[object]] = []
    pos = 0
    while True:
        while pos < len(text) and (text[pos].isspace() or text[pos].isdigit()):
            pos += 1
        if pos >= len(text):
            break
        try:
            chunk, pos = decoder.raw_decode(text, pos)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"batchexecute answer is not JSON: {exc}") from None
        if not isinstance(chunk, list):
            raise ParseError("batchexecute answer is not an array of rows")
        rows += [row for row in chunk if isinstance(row, list)]
    return rows


def _error_code(row: list[object]) -> int | None:
    # An error row puts the code in a one-element list after the payload: [..., null, [3], ...].
    for cell in row[3:]:
        if isinstance(cell, list) and cell and isinstance(cell[0], int):
            return cell[0]
    return None
