"""URL canonicalisation: one spelling per article so the same link from two feeds is one article.

Lower-cases scheme and host, drops default ports, fragments and tracking parameters (utm_*,
fbclid, gclid, ...), resolves relative links against the feed's URL. Query order is kept: some
CMSs route on it. Idempotent: canonical(canonical(u)) == canonical(u).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "_hs")
_TRACKING_KEYS = {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "_ga", "_gl",
                  "ref_src", "cmpid", "ocid", "at_medium", "at_campaign", "rss", "feed"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters no host name (ASCII or IDN) or IP literal holds; urlsplit does not check.
_BAD_HOST = re.compile(r"[\s<>\"{}|\\^`%@/?#]")


def is_tracking_param(key: str) -> bool:
    """True for query keys that only track the reader."""
    k = key.lower()
    return k in _TRACKING_KEYS or k.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str, base: str | None = None) -> str | None:
    """Canonical absolute http(s) URL, or None when the link is not http(s) or has no host."""
    url = (url or "").strip()
    if not url:
        return None
    if base:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or _BAD_HOST.search(parts.hostname):
        return None
    host = parts.hostname.lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"
    if port and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = quote(unquote(parts.path), safe="/%:@!$&'()*+,;=-._~") or "/"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                       if not is_tracking_param(k)], doseq=True)
    return urlunsplit((scheme, host, path, query, ""))
