"""The event loop a send runs on: uvloop where it is installed, asyncio's own otherwise.

A send is bound by the CPU its event loop spends per message (a few writes and reads on each
of 16 connections, timers, futures). uvloop does that work in C: on the 2-core machine of
docs/benchmarks.md ("Send") the sending process needs about a quarter less CPU per message,
and an unsigned send to smtp-sink is about 30 % faster. It comes with ``uvicorn[standard]``,
which ``serve`` already uses; where it is missing (Windows, PyPy) asyncio's loop does the
same job more slowly. ``DIGESTMAIL_EVENT_LOOP=asyncio`` picks asyncio's loop anyway, to tell
a loop problem from any other.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

ENV = "DIGESTMAIL_EVENT_LOOP"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    """uvloop's ``new_event_loop`` unless it is missing or ``$DIGESTMAIL_EVENT_LOOP=asyncio``."""
    if os.environ.get(ENV, "").strip().lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on the loop :func:`loop_factory` picks."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
