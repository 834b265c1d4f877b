"""A transport that keeps every message in a list, for testing the engine's rules without I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from digestmail.deliver.transports.base import Connection, Gate, SendResult, through_gate
from digestmail.errors import DeliveryError
from digestmail.models import OutgoingMessage

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
        await through_gate(gate)
        owner.sent.append(Captured(sender, message))
        return SendResult(250, "ok")

    async def close(self) -> None:
        self._usable = False
