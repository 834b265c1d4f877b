"""The embedded default transport: each message a file in a real Maildir, no server needed.

A Maildir that cannot take one message (full or read-only file system, no permission, a path
that is a plain file) cannot take the next one either, so such an OS error stops the run at
once (:class:`~.base.LocalTransportError`, exit 75) instead of being retried per recipient.
"""

from __future__ import annotations

import errno
import mailbox
import os
from pathlib import Path

from digestmail.deliver.transports.base import Connection, Gate, SendResult, through_gate
from digestmail.errors import LocalTransportError, TransportError
from digestmail.models import OutgoingMessage

_PASSING = frozenset({errno.EINTR, errno.EAGAIN, errno.EBUSY, errno.ETIMEDOUT})
"""OS errors worth trying again with the next message; every other one stops the run."""
_SUBDIRS = ("tmp", "new", "cur")


def _os_error(directory: Path, doing: str, exc: OSError) -> TransportError:
    """The error for ``exc``, naming the folder and the OS error with its symbolic name."""
    name = errno.errorcode.get(exc.errno or 0, "")
    cause = f"{exc.strerror or exc} ({name})" if name else str(exc)
    if exc.errno in _PASSING:
        return TransportError(f"{directory}: {doing}: {cause}")
    return LocalTransportError(
        f"{directory}: {doing}: {cause}; the send stopped, nothing is marked failed: fix that "
        "(free space, permissions, the folder) and run the same command again to resume"
    )


def return_path(sender: str) -> bytes:
    """The ``Return-Path`` line for ``sender`` (``<>`` for the null sender), LF-terminated.

    Whitespace and angle brackets are dropped: an envelope address has none, and a stray line
    break must not start a header of its own.
    """
    address = "".join(sender.split()).replace("<", "").replace(">", "")
    return f"Return-Path: <{address}>\n".encode()


class MaildirTransport:
    """Writes each message as one file into a real Maildir (``<dir>/new/``).

    :class:`mailbox.Maildir` writes to ``tmp/`` and renames into ``new/``, so a reader never sees
    a half-written message and a crash leaves at most a stray file in ``tmp/``. Line ends are
    converted from the wire's CRLF to LF, the convention of Maildirs on Unix. Each file starts
    with ``Return-Path: <envelope sender>``, as a mail server writes it on final delivery
    (RFC 5321 4.4): the only place a reader of the outbox sees the envelope sender, which is
    the message's own VERP address when ``inbox.bounce_address`` is set.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._box: mailbox.Maildir | None = None

    @property
    def max_connections(self) -> int:
        return 1

    async def connect(self) -> Connection:
        if self._box is None:
            self._box = self._open()
        return _MaildirConnection(self._box, self.directory)

    def _open(self) -> mailbox.Maildir:
        """The Maildir, its three folders made when missing; a plain file in the way is refused.

        :class:`mailbox.Maildir` only creates the folders of a path that does not exist yet, so
        an existing empty folder (or a file) would otherwise fail on every message instead.
        """
        directory = self.directory
        try:
            if directory.exists() and not directory.is_dir():
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
            for sub in _SUBDIRS:
                (directory / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
            return mailbox.Maildir(directory, create=False)
        except OSError as exc:
            raise _os_error(directory, "cannot use it as the Maildir", exc) from exc


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
        data = return_path(sender) + message.data.replace(b"\r\n", b"\n")
        await through_gate(gate)
        try:
            key = self._box.add(data)
        except OSError as exc:
            raise _os_error(self._directory, "cannot write a message", exc) from exc
        return SendResult(250, f"written to {self._directory / 'new' / key}")

    async def close(self) -> None:
        return None
