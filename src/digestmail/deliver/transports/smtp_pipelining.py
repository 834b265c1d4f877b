"""Reading SMTP replies off an established session, so transactions can be pipelined.

aiosmtplib's protocol pairs exactly one reply with each command it writes and drops replies
that arrive early, so it cannot carry RFC 2920 PIPELINING (MAIL, RCPT and DATA in one write,
three replies back). Once aiosmtplib has opened, secured and authenticated a session, the
transport is handed to :class:`ReplyReader` (``transport.set_protocol``), which queues every
complete reply in arrival order. That halves the round trips and the event-loop work per
message, which is most of what sending costs on a fast relay.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import cast

MAX_PENDING = 64 * 1024
"""A reply line longer than this is not SMTP; the session is treated as broken."""


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    text: str
    """The reply's text without the codes; lines of a multi-line reply joined with newlines."""


class ReplyReader(asyncio.Protocol):
    """Collects replies as they arrive; :meth:`next` hands them out one by one, in order."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._lines: list[str] = []
        self._replies: deque[Reply] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._lost: Exception | None = None
        self.transport: asyncio.WriteTransport | None = None

    @property
    def broken(self) -> bool:
        return self._lost is not None

    def adopt(self, transport: asyncio.BaseTransport) -> None:
        """Take over an open transport from another protocol (after the handshake)."""
        transport.set_protocol(self)
        # uvloop's transports implement the interface without subclassing it.
        self.transport = cast(asyncio.WriteTransport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer.extend(data)
        while (end := self._buffer.find(b"\n")) != -1:
            line = bytes(self._buffer[: end + 1])
            del self._buffer[: end + 1]
            if len(line) < 4 or not line[:3].isdigit() or line[3:4] not in (b" ", b"-", b"\r"):
                self._fail(ConnectionError(f"not an SMTP reply: {line[:80]!r}"))
                return
            self._lines.append(line[4:].strip().decode("utf-8", "replace"))
            if line[3:4] != b"-":
                self._replies.append(Reply(int(line[:3]), "\n".join(self._lines)))
                self._lines = []
        if len(self._buffer) > MAX_PENDING:
            self._fail(ConnectionError("SMTP reply line too long"))
            return
        if self._replies:
            self._wake()

    def eof_received(self) -> bool:
        self._fail(ConnectionError("the server closed the connection"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(exc or ConnectionError("the server closed the connection"))
        self.transport = None

    def _fail(self, exc: Exception) -> None:
        if self._lost is None:
            self._lost = exc
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def write(self, *chunks: bytes) -> None:
        """Send the chunks as one write: one system call instead of one per command."""
        if self._lost is not None or self.transport is None:
            raise ConnectionError(f"connection lost: {self._lost}")
        self.transport.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    async def next(self, timeout: float | None) -> Reply:
        """The next reply; ConnectionError when the session broke, TimeoutError when silent.

        The timeout is a timer on the waiter, not ``asyncio.timeout``: this runs three times
        per message, and the context manager's bookkeeping was a tenth of a send's CPU.
        """
        replies = self._replies
        if replies:
            return replies.popleft()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not replies:
            if self._lost is not None:
                raise ConnectionError(str(self._lost)) from self._lost
            waiter = self._waiter = loop.create_future()
            timer = None if deadline is None else loop.call_at(deadline, _expire, waiter)
            try:
                await waiter
            finally:
                if timer is not None:
                    timer.cancel()
        return replies.popleft()

    def close(self) -> None:
        self._fail(ConnectionError("closed by digestmail"))


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no reply from the SMTP server in time"))
