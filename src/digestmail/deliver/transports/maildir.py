"""The embedded default transport: each message a file in a real Maildir, no server needed."""

from __future__ import annotations

import mailbox
from pathlib import Path

from digestmail.deliver.transports.base import Connection, Gate, SendResult, through_gate
from digestmail.errors import TransportError
from digestmail.models import OutgoingMessage


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
        await through_gate(gate)
        try:
            key = self._box.add(data)
        except OSError as exc:
            raise TransportError(f"{self._directory}: cannot write a message: {exc}") from exc
        return SendResult(250, f"written to {self._directory / 'new' / key}")

    async def close(self) -> None:
        return None
