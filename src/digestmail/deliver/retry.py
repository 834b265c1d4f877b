"""When to try a temporary failure again, and which SMTP replies are worth trying again.

Backoff doubles from one second up to ``smtp.retry_max_delay``; the jitter spreads retries of
many recipients refused at the same moment (a relay's 451 burst) so they do not return as one
burst again.
"""

from __future__ import annotations

import random
from collections.abc import Callable

BASE_DELAY = 1.0


def backoff_delay(attempt: int, *, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait after the ``attempt``-th failed try (1-based): "equal jitter" backoff.

    The nominal delay is ``min(cap, 1 s * 2**(attempt-1))``; the result is uniformly spread over
    its upper half, so it never exceeds the cap and never collapses to zero.
    """
    nominal: float = min(cap, BASE_DELAY * 2.0 ** max(0, attempt - 1))
    return nominal / 2 + rand() * nominal / 2


def is_user_unknown(code: int | None, reply: str) -> bool:
    """550 5.1.1 (RFC 3463: bad destination mailbox address): the address does not exist."""
    if code is None or not 500 <= code < 600:
        return False
    first = reply.split(None, 1)
    return bool(first) and first[0] == "5.1.1"
