"""The SSRF guard and the body reader, directly."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from monitor.config import FetchSettings
from monitor.errors import BlockedAddress
from monitor.fetch.client import Fetcher, retry_after_seconds
from monitor.fetch.guard import AllowList, is_public
from tests.servers.http import send


@pytest.mark.parametrize("ip,public", [
    ("8.8.8.8", True), ("127.0.0.1", False), ("10.1.2.3", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("224.0.0.1", False), ("::1", False), ("::ffff:127.0.0.1", False),
    ("64:ff9b::7f00:1", False), ("2002:7f00:1::", False), ("2001:4860:4860::8888", True),
])
def test_is_public(ip, public):
    assert is_public(ipaddress.ip_address(ip)) is public


def test_allow_list_ports():
    allow = AllowList(["127.0.0.1:8080", "10.0.0.0/8"])
    assert allow.allows(ipaddress.ip_address("127.0.0.1"), 8080)
    assert not allow.allows(ipaddress.ip_address("127.0.0.1"), 8081)
    assert allow.allows(ipaddress.ip_address("10.9.9.9"), 1)


@pytest.mark.parametrize("host", ["localhost", "[::1]", "2130706433", "0x7f.1", "127.0.0.2"])
def test_loopback_spellings_are_blocked_without_allow(server, host):
    server.static("/x", b"secret", "text/plain")

    async def go():
        async with Fetcher(FetchSettings(allow_addresses=[f"127.0.0.1:{server.port + 1}"])) as f:
            await f.get(f"http://{host}:{server.port}/x")
    with pytest.raises(BlockedAddress):
        asyncio.run(go())
    assert server.requests == []


def test_allowed_server_is_fetched_and_uses_one_client(server):
    server.add("/x", lambda h: send(h, 200, b"ok", "text/plain"))

    async def go():
        async with Fetcher(FetchSettings(allow_addresses=[f"127.0.0.1:{server.port}"])) as f:
            return [await f.get(server.url("/x")) for _ in range(3)]
    results = asyncio.run(go())
    assert [r.body for r in results] == [b"ok"] * 3
    assert "ArabicPressMonitor" in server.requests[0][2]["User-Agent"]


def test_retry_after_parsing():
    assert retry_after_seconds("120") == 120
    assert retry_after_seconds("Fri, 20 Nov 2026 10:00:10 GMT", now=1795168800.0) == 10
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_guarded_streams_tell_an_idle_connection_closed_by_the_server() -> None:
    """httpcore drops pooled connections whose socket turned readable (the server hung up)."""
    from monitor.fetch.guard import GuardedBackend

    async def go() -> tuple[bool, bool, bool]:
        writers: list[asyncio.StreamWriter] = []

        async def accept(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            writers.append(w)

        srv = await asyncio.start_server(accept, "127.0.0.1", 0)
        port = srv.sockets[0].getsockname()[1]
        stream = await GuardedBackend(AllowList([f"127.0.0.1:{port}"])).connect_tcp(
            "127.0.0.1", port)
        for _ in range(50):
            if writers:
                break
            await asyncio.sleep(0.01)
        idle = stream.get_extra_info("is_readable")
        writers[0].close()
        await asyncio.sleep(0.1)
        hung_up = stream.get_extra_info("is_readable")
        has_socket = stream.get_extra_info("socket") is not None
        await stream.aclose()
        srv.close()
        return idle, hung_up, has_socket

    assert asyncio.run(go()) == (False, True, True)
