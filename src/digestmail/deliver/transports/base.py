"""How a finished message leaves the process: the Transport protocol and the simple transports.

The delivery engine only ever talks to a :class:`Transport`, so the rules it enforces (ledger,
retries, rate, resume) are the same whether mail goes to an SMTP relay (:mod:`.smtp`),
into a local Maildir for people to read, or into memory for the engine's own tests.

A transport hands out *connections*; the engine runs one worker per connection and each worker
sends its messages one after another, so a connection never has two transactions at once.
Per-recipient refusals are :class:`~digestmail.errors.DeliveryError` (with the SMTP code, or
``None`` when the connection broke and nobody knows); a transport that cannot work at all
(refused connection, bad password) raises :class:`~digestmail.errors.TransportError`.
"""

from __future__ import annotations

import mailbox
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from digestmail.errors import DeliveryError, TransportError
from digestmail.models import OutgoingMessage

Gate = Callable[[], Awaitable[None] | None]
"""Called right before a message is committed to the destination (SMTP: before the final dot).

Returns what to await first, or None to go ahead at once. The delivery engine uses it to make
sure the previous message's outcome is in the ledger before this one can be delivered.
"""


@dataclass(frozen=True, slots=True)
class SendResult:
    """The accepting reply: kept in the ledger so an operator can match the relay's logs."""

    code: int
    reply: str


class Connection(Protocol):
    """One channel to the destination, used by one worker for many messages in a row."""

    @property
    def usable(self) -> bool:
        """False once the peer closed or broke the channel; the worker then opens a new one."""
        ...

    async def send(
        self, sender: str, message: OutgoingMessage, *, gate: Gate | None = None
    ) -> SendResult:
        """Deliver one message; raise DeliveryError for a refusal or a broken transaction."""
        ...

    async def close(self) -> None: ...


class Transport(Protocol):
    """A factory of connections plus how many of them may be open at once."""

    @property
    def max_connections(self) -> int: ...

    async def connect(self) -> Connection:
        """Open a ready connection; raise TransportError when that is impossible."""
        ...


async def _through(gate: Gate | None) -> None:
    if gate is not None and (waiting := gate()) is not None:
        await waiting


# --- Maildir ----------------------------------------------------------------------------------


class MaildirTransport:
    """Writes each message as one file into a real Maildir (``<dir>/new/``).

    :class:`mailbox.Maildir` writes to ``tmp/`` and renames into ``new/``, so a reader never sees
    a half-written message and a crash leaves at most a stray file in ``tmp/``. Line ends are
    converted from the wire's CRLF to LF, the convention of Maildirs on Unix.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._box: mailbox.Maildir | None = None

    @property
    def max_connections(self) -> int:
        return 1

    async def connect(self) -> Connection:
        if self._box is None:
            try:
                self._box = mailbox.Maildir(self.directory, create=True)
            except OSError as exc:
                raise TransportError(f"{self.directory}: cannot create the Maildir: {exc}") from exc
        return _MaildirConnection(self._box, self.directory)


class _MaildirConnection:
    def __init__(self, box: mailbox.Maildir, directory: Path) -> None:
        self._box = box
        self._directory = directory

    @property
    def usable(self) -> bool:
        return True

    async def send(
        self, sender: str, message: OutgoingMessage, *, gate: Gate | None = None
    ) -> SendResult:
        data = message.data.replace(b"\r\n", b"\n")
        await _through(gate)
        try:
            key = self._box.add(data)
        except OSError as exc:
            raise TransportError(f"{self._directory}: cannot write a message: {exc}") from exc
        return SendResult(250, f"written to {self._directory / 'new' / key}")

    async def close(self) -> None:
        return None


# --- in memory ---------------------------------------------------------------------------------

Fault = Callable[[OutgoingMessage, int], DeliveryError | None]
"""Decides, from the message and how often its address was tried before, whether to refuse it."""


@dataclass(frozen=True, slots=True)
class Captured:
    sender: str
    message: OutgoingMessage


@dataclass
class MemoryTransport:
    """Keeps every message in a list: for testing the engine's rules without any I/O.

    ``fault`` injects refusals; a refusal with ``code=None`` also breaks the connection, as a
    dropped TCP connection would, so reconnect logic is exercised too.
    """

    connections: int = 2
    fault: Fault | None = None
    sent: list[Captured] = field(default_factory=list)
    tries: dict[str, int] = field(default_factory=dict)
    opened: int = 0

    @property
    def max_connections(self) -> int:
        return self.connections

    async def connect(self) -> Connection:
        self.opened += 1
        return _MemoryConnection(self)


class _MemoryConnection:
    def __init__(self, owner: MemoryTransport) -> None:
        self._owner = owner
        self._usable = True

    @property
    def usable(self) -> bool:
        return self._usable

    async def send(
        self, sender: str, message: OutgoingMessage, *, gate: Gate | None = None
    ) -> SendResult:
        owner = self._owner
        before = owner.tries.get(message.email, 0)
        owner.tries[message.email] = before + 1
        error = owner.fault(message, before) if owner.fault else None
        if error is not None:
            if error.code is None:
                self._usable = False
            raise error
        await _through(gate)
        owner.sent.append(Captured(sender, message))
        return SendResult(250, "ok")

    async def close(self) -> None:
        self._usable = False
