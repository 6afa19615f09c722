"""URL canonicalisation and item identity."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.parse.identity import item_identity
from monitor.parse.urls import canonical_url


@pytest.mark.parametrize("raw,base,expected", [
    pytest.param("HTTPS://Example.ORG:443/a?utm_source=x&id=3#frag", None,
                 "https://example.org/a?id=3", id="tracking-port-fragment"),
    pytest.param("/news/1?fbclid=abc", "https://alwasat.ly/feed", "https://alwasat.ly/news/1",
                 id="relative"),
    pytest.param("http://example.org:8080/x", None, "http://example.org:8080/x", id="keep-port"),
    pytest.param("https://ar.example/أخبار/ليبيا", None,
                 "https://ar.example/%D8%A3%D8%AE%D8%A8%D8%A7%D8%B1/%D9%84%D9%8A%D8%A8%D9%8A%D8%A7",
                 id="arabic-path"),
    pytest.param("javascript:alert(1)", None, None, id="javascript"),
    pytest.param("ftp://x/y", None, None, id="ftp"),
    pytest.param("", None, None, id="empty"),
    pytest.param("https://مثال.ليبيا/خبر", None, "https://مثال.ليبيا/%D8%AE%D8%A8%D8%B1", id="idn"),
    pytest.param("HTTPS://XN--MGBH0FB.example/", None, "https://xn--mgbh0fb.example/", id="punycode"),
    pytest.param("http://a b.example/x", None, None, id="space-in-host"),
    pytest.param("http://a%20b.example/x", None, None, id="escaped-host"),
    pytest.param("http://example.org:99999/x", None, None, id="bad-port"),
    pytest.param("//other.example/x", "https://site.example/feed", "https://other.example/x",
                 id="protocol-relative"),
])
def test_canonical_url(raw, base, expected):
    assert canonical_url(raw, base) == expected


_urls = st.builds(
    lambda scheme, host, path, query, frag: f"{scheme}://{host}/{path}?{query}#{frag}",
    st.sampled_from(["http", "https", "HTTP"]),
    st.sampled_from(["example.org", "EXAMPLE.org:443", "127.0.0.1:8080", "[::1]:80"]),
    st.text(min_size=0, max_size=20),
    st.text(min_size=0, max_size=20),
    st.text(max_size=5))


@given(_urls)
def test_canonical_url_is_idempotent(url):
    once = canonical_url(url)
    if once is not None:
        assert canonical_url(once) == once


def test_identity_prefers_guid_then_url_then_hash():
    assert item_identity("f", "abc", "https://x/1", "t", "s", None) == "guid:f:abc"
    assert item_identity("f", "https://X/1?utm_medium=rss", None, "t", "s", None) == "url:https://x/1"
    assert item_identity("f", None, "https://x/1", "t", "s", None) == "url:https://x/1"
    h1 = item_identity("f", None, None, "t", "s", "2026")
    assert h1.startswith("hash:") and h1 == item_identity("g", None, None, "t", "s", "2026")
    assert h1 != item_identity("f", None, None, "t2", "s", "2026")
