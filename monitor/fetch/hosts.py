"""Page work per host: fairness between hosts and a circuit breaker for failing ones.

Article pages used to take one of 8 shared slots first and their host's slot second, in arrival
order: 40 pages of a site answering one byte every 2 s held all 8 (6 of them only waiting for
that site's 2 host slots), and a healthy feed polled a second later waited 160 s for a slot.
:class:`HostGate` takes the host's slot first, so a host can never hold more than its own
``per_host`` shared slots and its slowness costs only itself.

:class:`CircuitBreaker`: a host whose pages failed (time-out, network error, 5xx, 429)
``failures`` times in a row is skipped for ``cooldown`` seconds; its articles stay pending. After
the cool-down its next page is a probe: one failure opens the circuit again, one success
closes it. The breaker only decides; the pipeline stores what it decided (``monitor.store.hosts``)
so that ``monitor feeds`` shows it and the next process starts from it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

from monitor.errors import FetchError, FetchTimeout, HTTPStatusError, NetworkFailure

_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_key(url: str) -> str:
    """``host:port`` of a URL (an origin without its scheme), lower-cased; '' if there is none."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    except ValueError:
        return ""
    return f"{(parts.hostname or '').lower()}:{port}" if parts.hostname else ""


def is_host_failure(exc: FetchError) -> bool:
    """Failures that say the host is unwell, not that this page is bad."""
    if isinstance(exc, HTTPStatusError):
        return exc.status is not None and (exc.status >= 500 or exc.status == 429)
    return isinstance(exc, (FetchTimeout, NetworkFailure))


class HostGate:
    """``async with gate.slot(host)``: the host's slot, then one of the shared slots."""

    def __init__(self, per_host: int, shared: int) -> None:
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(per_host))
        self._shared = asyncio.Semaphore(shared)

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        async with self._hosts[host], self._shared:
            yield


@dataclass
class Circuit:
    """A host's breaker state."""

    failures: int = 0
    open_until: float = 0.0
    last_error: str = ""


class CircuitBreaker:
    """Consecutive failures per host; open hosts are skipped until their cool-down ends."""

    def __init__(self, failures: int, cooldown: float, clock: Callable[[], float]) -> None:
        self.threshold, self.cooldown, self.clock = failures, cooldown, clock
        self._hosts: dict[str, Circuit] = {}

    def restore(self, host: str, failures: int, open_until: float, error: str) -> None:
        """Take over a state stored by an earlier process."""
        self._hosts[host] = Circuit(failures, open_until, error)

    def is_open(self, host: str) -> bool:
        circuit = self._hosts.get(host)
        return circuit is not None and circuit.open_until > self.clock()

    def open_until(self, host: str) -> float:
        circuit = self._hosts.get(host)
        return circuit.open_until if circuit else 0.0

    def failed(self, host: str, error: str) -> Circuit | None:
        """Count a failure; returns the circuit when this failure opened it."""
        if self.threshold == 0:
            return None
        circuit = self._hosts.setdefault(host, Circuit())
        circuit.failures += 1
        circuit.last_error = error
        if circuit.failures < self.threshold or circuit.open_until > self.clock():
            return None
        circuit.open_until = self.clock() + self.cooldown
        return circuit

    def succeeded(self, host: str) -> bool:
        """Reset the count; True when the host had an open (or probing) circuit."""
        circuit = self._hosts.pop(host, None)
        return circuit is not None and circuit.open_until > 0
