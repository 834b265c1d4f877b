"""A ledger connection that lives in a thread of its own, for code running an event loop.

Every ``sqlite3`` call blocks its caller: a commit with ``synchronous = FULL`` waits for an
fsync (about 1.6 ms here), and a write that meets another process's transaction waits in
SQLite's busy handler (up to ``BUSY_TIMEOUT_MS``). Run on an event loop, that time is taken
from every connection or request the loop serves. :class:`LedgerThread` runs the work in one
dedicated thread instead; ``sqlite3`` releases the GIL while SQLite works and waits, so the
loop goes on meanwhile. Both ``digestmail serve`` (every ledger call) and a send (its group
commit, deliver/group_commit.py) use one.

The connection is opened lazily in that thread (a ``sqlite3`` connection belongs to the thread
that opened it) and is separate from any other connection of the process, so it takes the
write lock like another process would. One thread per instance runs the work in the order it
was submitted: two writes submitted one after the other commit in that order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from digestmail.ledger.store import Ledger

T = TypeVar("T")


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
