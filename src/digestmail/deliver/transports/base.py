"""How a finished message leaves the process: the Transport protocol every variant follows.

The delivery engine only ever talks to a :class:`Transport`, so the rules it enforces (ledger,
retries, rate, resume) are the same whether mail goes to an SMTP relay (:mod:`.smtp`),
into a local Maildir for people to read (:mod:`.maildir`), or into memory for the engine's own
tests (:mod:`.memory`).

A transport hands out *connections*; the engine runs one worker per connection and each worker
sends its messages one after another, so a connection never has two transactions at once.
Per-recipient refusals are :class:`~digestmail.errors.DeliveryError` (with the SMTP code, or
``None`` when the connection broke and nobody knows); a transport that cannot work at all
(refused connection, bad password) raises :class:`~digestmail.errors.TransportError`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

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


async def through_gate(gate: Gate | None) -> None:
    """Wait at the engine's gate (if any) before a message's bytes may leave."""
    if gate is not None and (waiting := gate()) is not None:
        await waiting
