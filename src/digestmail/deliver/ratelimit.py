"""A token bucket shared by a relay's connections, so its ``rate_per_second`` limits them all.

The arithmetic (:meth:`TokenBucket.reserve`) is separate from the sleeping (:meth:`acquire`)
and takes the current time as an argument, so tests check how long a sender would wait by
counting, not by measuring wall-clock time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; ``rate`` 0 means no limit.

    Callers reserve a token and are told how long to wait for it; the reservation is made at
    once (the bucket may go negative), so concurrent callers queue up fairly instead of all
    waking at the same moment and racing for one token.
    """

    def __init__(
        self, rate: float, *, burst: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._clock = clock
        self._tokens = self.burst
        self._stamp = clock()

    def reserve(self, now: float) -> float:
        """Take one token; return the seconds to wait before using it (0 when one was ready)."""
        if self.rate <= 0:
            return 0.0
        elapsed = max(0.0, now - self._stamp)
        self._stamp = max(self._stamp, now)
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        self._tokens -= 1.0
        if self._tokens >= 0:
            return 0.0
        return -self._tokens / self.rate

    async def acquire(self, cancel: asyncio.Event | None = None) -> bool:
        """Wait for a token; False when ``cancel`` was set first (the caller must not send).

        At a low rate a connection may wait seconds for its token: a stop must not wait for
        those to be handed out, or SIGTERM would send a message per connection afterwards.
        """
        delay = self.reserve(self._clock())
        if delay <= 0:
            return cancel is None or not cancel.is_set()
        if cancel is None:
            await asyncio.sleep(delay)
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cancel.wait(), delay)
        return not cancel.is_set()
