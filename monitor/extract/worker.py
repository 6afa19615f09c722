"""The extraction worker: a process of its own that extracts one page at a time.

Started by :class:`monitor.extract.process.Worker` as ``python -c … LIMIT_MB PARENT_PID``. It
reads pickled ``(html, url, max_text_chars)`` requests on stdin and answers each with one pickled
``(status, payload, peak_rss_bytes, leaving)`` on stdout, after a first ``("ready", pid, …)``;
``leaving`` says it exits after this answer.

Before anything else it makes itself safe to lose: its address space is capped (RLIMIT_AS: a
page that needs more gets a MemoryError, answered as ``"memory"``, after which the worker exits
and is replaced), it dies with its parent (PR_SET_PDEATHSIG on Linux, else a thread watching
the parent's pid), and it leaves SIGINT and SIGTERM to the daemon, which stops it itself.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import resource
import signal
import sys
import threading
import time
from typing import Any, BinaryIO

from monitor.signals import ignore_sigint

PR_SET_PDEATHSIG = 1     # <linux/prctl.h>
MIB = 1024 * 1024


def main(argv: list[str]) -> None:
    """Serve requests until stdin closes (the pool closed it) or the parent dies."""
    limit_mb, parent = int(argv[0]), int(argv[1])
    requests, replies = _protocol_streams()
    _die_with_parent(parent)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    ignore_sigint()
    limit_memory(limit_mb)
    import trafilatura  # noqa: F401

    from monitor.extract.page import extract_page  # imports trafilatura: before "ready"

    _send(replies, ("ready", os.getpid()))
    while True:
        try:
            html, url, max_text_chars = pickle.load(requests)
        except EOFError:
            return
        memory = f"out of memory (extract.memory_limit_mb is {limit_mb})"
        try:
            reply: tuple[Any, ...] = ("ok", extract_page(html, url, max_text_chars))
        except MemoryError:
            del html
            reply = ("memory", memory)
        except Exception as exc:  # job boundary: one page's failure must not end the worker
            reply = ("error", f"{type(exc).__name__}: {exc}"[:500])
        exhausted = reply[0] == "memory" or _reached(limit_mb)
        if reply[0] == "ok" and exhausted:
            # lxml reports a failed allocation while parsing as a parse error, which trafilatura
            # swallows: the page then looks empty. The address-space peak tells the truth.
            note = "; ".join(filter(None, [reply[1].note, memory + ": text may be partial"]))
            reply = (("ok", dataclasses.replace(reply[1], note=note))
                     if reply[1].text else ("memory", memory))
        _send(replies, reply, leaving=exhausted)
        if exhausted:
            return   # its heap may be left fragmented or half-built: a fresh process goes on


def _reached(limit_mb: int) -> bool:
    """Whether this process's address space came within 5 % of its limit (Linux; else False)."""
    return limit_mb > 0 and _status_kb("VmPeak") * 1024 >= 0.95 * limit_mb * MIB


def limit_memory(limit_mb: int) -> None:
    """Cap this process's address space at ``limit_mb`` MiB (0: no cap)."""
    if limit_mb <= 0:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = limit_mb * MIB
    resource.setrlimit(resource.RLIMIT_AS,
                       (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))


def _protocol_streams() -> tuple[BinaryIO, BinaryIO]:
    """Private copies of stdin/stdout for the protocol; fds 0 and 1 become /dev/null and stderr,
    so that a library that prints cannot corrupt the answers."""
    requests = os.fdopen(os.dup(0), "rb")
    replies = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return requests, replies


def _send(replies: BinaryIO, reply: tuple[Any, ...], leaving: bool = False) -> None:
    pickle.dump((*reply, _status_kb("VmHWM") * 1024, leaving), replies,
                protocol=pickle.HIGHEST_PROTOCOL)
    replies.flush()


def _status_kb(field: str) -> int:
    """A ``/proc/self/status`` figure in kB (Linux; else 0). Not ru_maxrss: that one starts
    from the daemon's own peak, which a spawned process inherits at exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))
    except (OSError, StopIteration, ValueError):
        return 0


def _die_with_parent(parent: int) -> None:
    """Be killed when the daemon dies, even by SIGKILL: no orphaned worker keeps a core busy.

    PR_SET_PDEATHSIG fires when the *thread* that started this process ends; the pool starts
    workers from its event loop's thread, which outlives them."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            _watch_parent(parent)
    else:
        _watch_parent(parent)
    if os.getppid() != parent:    # it died before the request above took effect
        os._exit(0)


def _watch_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


if __name__ == "__main__":
    main(sys.argv[1:])
