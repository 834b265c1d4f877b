"""A ledger connection that lives in a thread of its own, for code running an event loop.

Every ``sqlite3`` call blocks its caller: a commit with ``synchronous = FULL`` waits for an
fsync (about 1.6 ms here), and a write that meets another process's transaction waits in
SQLite's busy handler (up to ``BUSY_TIMEOUT_MS``). Run on an event loop, that time is taken
from every request the loop serves. :class:`LedgerThread` runs the work in one dedicated thread
instead; ``sqlite3`` releases the GIL while SQLite works and waits, so the loop goes on
meanwhile. ``digestmail serve`` makes every ledger call through one.

A send's group commit (deliver/group_commit.py) was tried in one too and stays on the send's
event loop: in the thread a flush waited for the GIL after every ``sqlite3`` call (one per
row) and took 3.6 ms instead of 2.2 ms, the send alone needed ~10 % more CPU, and it was
faster only when the machine's disk was slow (docs/benchmarks.md, "Serve").

The connection is opened lazily in that thread (a ``sqlite3`` connection belongs to the thread
that opened it) and is separate from any other connection of the process, so it takes the
write lock like another process would. One thread per instance runs the work in the order it
was submitted: two writes submitted one after the other commit in that order.

Each ``sqlite3`` call releases the GIL and must take it back; with Python's default switch
interval (5 ms) the ledger thread then waits for a busy event loop up to 5 ms per call, several
calls per commit (one per row of an ``executemany``). :func:`ledger_thread_priority` lowers the
interval while such a thread works: measured for serve, 10 ms median per one-click POST at 400
requests/s during a send, 3 ms with it (docs/benchmarks.md, "Serve").
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from digestmail.ledger.store import Ledger

T = TypeVar("T")

SWITCH_INTERVAL = 0.0005
"""Seconds a thread holds the GIL while another waits for it, while a ledger thread works."""

_priority_lock = threading.Lock()
_priority_users = 0
_priority_before = 0.0


@contextlib.contextmanager
def ledger_thread_priority() -> Iterator[None]:
    """Let ledger threads take the GIL back quickly inside the block; restored after the last.

    Counted, so that blocks that overlap in one process (two apps in one test process) restore
    the interval only when the last of them ends.
    """
    global _priority_users, _priority_before
    with _priority_lock:
        if _priority_users == 0:
            _priority_before = sys.getswitchinterval()
            sys.setswitchinterval(min(_priority_before, SWITCH_INTERVAL))
        _priority_users += 1
    try:
        yield
    finally:
        with _priority_lock:
            _priority_users -= 1
            if _priority_users == 0:
                sys.setswitchinterval(_priority_before)


class LedgerThread:
    """Runs functions of a ledger in one dedicated thread, opening the file there lazily."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")
        self._ledger: Ledger | None = None

    def _open(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger.open(self.path)
        return self._ledger

    async def run(self, work: Callable[[Ledger], T]) -> T:
        """``work(ledger)`` in the ledger's thread; its exceptions are raised here.

        Cancelling the caller does not stop work already started: it still runs to its end.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: work(self._open()))

    def _close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None

    def close(self) -> None:
        """Wait for the work submitted so far, close the connection, end the thread."""
        self._executor.submit(self._close).result()
        self._executor.shutdown(wait=True)
