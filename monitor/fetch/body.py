"""Reading a response body within a size cap, inflating gzip/deflate ourselves with a bound.

httpx decodes compressed bodies with no bound: a 64 KB gzip read became one 67 MB chunk and a
329-byte brotli body one 210 MB chunk before any counter could react. So the raw stream is read
and inflated here with ``max_length``; encodings we do not advertise (br, zstd) are refused.
"""

from __future__ import annotations

import zlib

import httpx

from monitor.errors import BodyTooLarge, UnsupportedEncoding

ACCEPT_ENCODING = "gzip, deflate"


def _decoder(encoding: str, url: str) -> zlib._Decompress | None:
    enc = encoding.strip().lower()
    if enc in ("", "identity"):
        return None
    if enc in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if enc == "deflate":
        return zlib.decompressobj(32 + zlib.MAX_WBITS)   # zlib or raw header, auto-detected
    raise UnsupportedEncoding(f"refused content-encoding {encoding!r}", url=url)


async def read_capped(response: httpx.Response, cap: int, url: str) -> bytes:
    """The (decoded) body, or :class:`BodyTooLarge` as soon as raw or decoded size passes ``cap``."""
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > cap:
        raise BodyTooLarge(f"body of {declared} bytes is over the {cap}-byte cap", url=url)
    dec = _decoder(response.headers.get("content-encoding", ""), url)
    out = bytearray()
    raw_total = 0
    async for raw in response.aiter_raw():
        raw_total += len(raw)
        if raw_total > cap:
            raise BodyTooLarge(f"body over the {cap}-byte cap", url=url)
        if dec is None:
            out += raw
        else:
            _inflate_into(out, dec, raw, cap, url)
    if dec is not None:
        out += dec.flush(cap + 1 - len(out)) if len(out) <= cap else b""
    if len(out) > cap:
        raise BodyTooLarge(f"decompressed body over the {cap}-byte cap", url=url)
    return bytes(out)


def _inflate_into(out: bytearray, dec: zlib._Decompress, raw: bytes, cap: int, url: str) -> None:
    try:
        while raw:
            out += dec.decompress(raw, cap + 1 - len(out))
            if len(out) > cap:
                raise BodyTooLarge(f"decompressed body over the {cap}-byte cap", url=url)
            raw = dec.unconsumed_tail
    except zlib.error as exc:
        raise UnsupportedEncoding(f"corrupt compressed body: {exc}", url=url) from exc
