"""SIGINT and SIGTERM as a request to stop: in-flight work finishes, the ledger is flushed.

A command that sends runs one ``asyncio.run``; these handlers turn the first signal into the
``stop`` event every stage of a send watches, and the second into the default action, so an
operator who presses Ctrl-C twice is never kept waiting.
"""

from __future__ import annotations

import asyncio
import signal


def install_signal_handlers(stop: asyncio.Event) -> None:
    """SIGINT/SIGTERM set ``stop`` (finish in-flight work, flush, exit 75); a second one aborts.

    Call it from inside the coroutine ``asyncio.run`` runs: it needs the running loop.
    """
    loop = asyncio.get_running_loop()

    def on_signal(signum: signal.Signals) -> None:
        if stop.is_set():
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
            signal.raise_signal(signum)
            return
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
