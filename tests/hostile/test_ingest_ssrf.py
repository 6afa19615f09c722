"""Address spellings that reach this machine or a private network: every one refused at connect
time, for feeds, article links and redirect hops, before a byte is sent."""

from __future__ import annotations

import asyncio

import pytest

from monitor.config import FetchSettings
from monitor.errors import BlockedAddress
from monitor.fetch.client import Fetcher
from tests.servers.http import TestServer, send

LOOPBACK_SPELLINGS = [
    "localhost", "LOCALHOST", "127.0.0.1", "127.1", "127.0.1", "0177.0.0.1",
    "0x7f.0.0.1", "0x7f000001", "2130706433", "017700000001", "127.000.000.001", "127.0.0.2",
    "127.255.255.254", "0.0.0.0", "0", "[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]", "[0:0:0:0:0:ffff:127.0.0.1]", "[64:ff9b::127.0.0.1]", "[2002:7f00:1::]",
    "[::]",
]
PRIVATE_SPELLINGS = [
    "10.0.0.1", "172.16.0.1", "192.168.0.1", "169.254.169.254", "100.64.0.1", "192.0.0.1",
    "198.18.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255", "[fc00::1]", "[fe80::1]",
    "[ff02::1]", "[::ffff:10.0.0.1]", "[::ffff:169.254.169.254]", "0xa9.0xfe.0xa9.0xfe",
    "2852039166",
]


def _get(url: str, allow: list[str]) -> None:
    async def go() -> None:
        async with Fetcher(FetchSettings(allow_addresses=allow, connect_timeout=2,
                                         total_timeout=5)) as fetcher:
            await fetcher.get(url)
    asyncio.run(go())


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_loopback_spellings_are_refused(server, host):
    server.static("/x", b"secret", "text/plain")
    with pytest.raises(BlockedAddress):
        _get(f"http://{host}:{server.port}/x", [f"127.0.0.1:{server.port + 1}"])
    assert server.requests == []


@pytest.mark.parametrize("host", PRIVATE_SPELLINGS)
def test_private_and_reserved_spellings_are_refused(host):
    with pytest.raises(BlockedAddress):
        _get(f"http://{host}/latest/meta-data/", [])


@pytest.mark.parametrize("host", ["127.1", "[::ffff:127.0.0.1]", "0x7f000001", "localhost",
                                  "169.254.169.254", "[::1]"])
def test_redirect_hops_to_other_local_services_are_refused(server, host):
    with TestServer() as other:           # a second local service, NOT allowed
        other.static("/secret", b"secret", "text/plain")
        target = f"http://{host}:{other.port}/secret"
        server.add("/hop", lambda h: send(h, 302, b"", None, {"Location": target}))
        with pytest.raises(BlockedAddress):
            _get(server.url("/hop"), [f"127.0.0.1:{server.port}"])
        assert other.requests == []
