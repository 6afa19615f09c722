"""A tiny HTTP server for ``/healthz`` and ``/metrics`` (no web framework needed).

``/healthz`` answers 200 while the scheduler runs, the database is writable and at least one
feed succeeded recently; otherwise 503, with a JSON body giving the reasons either way.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from monitor.errors import ConfigError
from monitor.ops.metrics import METRICS

log = logging.getLogger(__name__)

HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


class OpsServer:
    """Serves the endpoints on ``host:port`` inside the daemon's event loop."""

    def __init__(self, host: str, port: int, health: HealthCheck) -> None:
        self.host, self.port, self.health = host, port, health
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen; a port already in use is a configuration error naming ``ops.port``."""
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}",
                              key="ops.port") from exc
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("health and metrics on http://%s:%d/healthz and /metrics", self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(5):
                request = await reader.readline()
                while (await reader.readline()).strip():
                    pass   # headers: not needed
            parts = request.decode("latin-1").split()
            path = parts[1].split("?", 1)[0] if len(parts) > 1 else "/"
            status, ctype, body = self._route(path)
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                         f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    def _route(self, path: str) -> tuple[str, str, bytes]:
        if path == "/healthz":
            ok, details = self.health()
            body = json.dumps({"status": "ok" if ok else "unhealthy", **details},
                              ensure_ascii=False, default=str).encode()
            return ("200 OK" if ok else "503 Service Unavailable"), "application/json", body
        if path == "/metrics":
            return "200 OK", CONTENT_TYPE_LATEST, generate_latest(METRICS.registry)
        return "404 Not Found", "text/plain", b"not found: try /healthz or /metrics\n"
