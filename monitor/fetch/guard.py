"""Refuse connections to non-public addresses, checked on the resolved IP at connect time.

Links come from untrusted feeds. Checking the URL text misses redirects, names that resolve to
private addresses, numeric forms (``2130706433``, ``0x7f.1``) and DNS rebinding, so the check sits
in the network backend: every hop of every request resolves the host once, vets every address,
and connects to the vetted IP. TLS still uses the URL host for SNI and certificate checks.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import select
import socket
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from monitor.config import parse_allow_entry
from monitor.errors import BlockedAddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
# An ASCII (already IDNA-encoded) DNS name: labels of 1-63 letters, digits, '-' or '_'.
_HOST_NAME = re.compile(r"(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*"
                        r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?")


def is_public(ip: IPAddress) -> bool:
    """True for globally routable unicast addresses, after unwrapping IPv6 encodings of IPv4."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:          # ::ffff:127.0.0.1 is not is_loopback on 3.11
            ip = ip.ipv4_mapped
        elif ip.sixtofour:
            ip = ip.sixtofour
        elif ip in _NAT64:
            ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    # 224.0.0.1 is is_global on 3.11, hence the explicit multicast test.
    return bool(ip.is_global and not ip.is_multicast)


def valid_port(port: int) -> bool:
    """A TCP port one can connect to (1-65535)."""
    return 0 < port < 65536


class AllowList:
    """Non-public addresses the configuration allows anyway (the demo and tests use 127.0.0.1)."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self._rules = [parse_allow_entry(e) for e in entries]

    def allows(self, ip: IPAddress, port: int) -> bool:
        return any(ip in net and (want is None or want == port) for net, want in self._rules)


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that resolves, vets and then connects to the vetted address."""

    def __init__(self, allow: AllowList, resolve_timeout: float = 10.0) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow = allow
        self._resolve_timeout = resolve_timeout

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        if not valid_port(port):
            # A redirect to http://8.8.8.8:99999/ otherwise ends in an OverflowError inside
            # anyio's task group, which no caller expects.
            raise BlockedAddress(f"refused: port {port} is out of range")
        ips = await self._resolve(host, port)
        bad = [ip for ip in ips if not is_public(ip) and not self._allow.allows(ip, port)]
        if bad:
            raise BlockedAddress(f"refused: {host}:{port} resolves to non-public address "
                                 f"{', '.join(map(str, bad))}")
        error: Exception | None = None
        for ip in ips:
            try:
                return _Stream(await self._inner.connect_tcp(str(ip), port, timeout=timeout,
                                                             local_address=local_address,
                                                             socket_options=socket_options))
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error

    async def _resolve(self, host: str, port: int) -> list[IPAddress]:
        try:
            # A canonical IP literal needs no lookup (and no thread-pool round trip); every
            # other spelling (2130706433, 0x7f.1, names) goes through getaddrinfo.
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        if not _HOST_NAME.fullmatch(host) or len(host) > 253:
            # getaddrinfo would raise UnicodeError (idna) for "a..b" or a 64-character label.
            raise BlockedAddress(f"refused: {host[:100]!r} is not a valid host name")
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._resolve_timeout):
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        ips = list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in infos))
        if not ips:
            raise httpcore.ConnectError(f"no address for {host}")
        return ips

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None
                                  ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("refused: unix sockets are never fetched")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class _Stream(httpcore.AsyncNetworkStream):
    """The backend's stream, answering httpcore's ``is_readable`` question cheaply.

    httpcore asks it of every idle connection in the pool whenever a request starts or ends;
    anyio answers by building its whole table of socket attributes (``getpeername`` included)
    each time, which made the pool bookkeeping a tenth of the CPU of an article fetch.
    """

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner
        self._sock: socket.socket | None = inner.get_extra_info("socket")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        return _Stream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            return _readable(self._sock)
        return self._inner.get_extra_info(info)


def _readable(sock: socket.socket | None) -> bool:
    """Would a read return at once? A closed socket counts as readable (it would read b"")."""
    fd = -1 if sock is None else sock.fileno()
    if fd < 0:
        return True
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


def guarded_transport(allow: AllowList, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose connection pool uses :class:`GuardedBackend`."""
    transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    # httpx exposes no hook for the network backend; the pool attribute is private, so this is
    # re-checked by tests/fetch/test_guard.py on every httpx upgrade.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=True),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(allow),
    )
    return transport
