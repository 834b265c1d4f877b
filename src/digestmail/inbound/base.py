"""The protocol every mailbox follows, and how one is chosen from ``[inbox]``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from digestmail.config import InboxConfig


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One message as it lies in the mailbox: the mailbox's own id for it, and its bytes."""

    ref: str
    data: bytes


class Mailbox(Protocol):
    """Opened, read once, handled messages moved aside in batches, closed; all calls blocking.

    ``open`` raises :class:`~digestmail.errors.MailboxError` when the mailbox cannot be reached
    (exit 75) and :class:`~digestmail.errors.MailboxSetupError` for a login, certificate or
    folder to fix (exit 2).
    """

    @property
    def where(self) -> str: ...

    def open(self) -> None: ...

    def messages(self) -> Iterator[InboxItem]: ...

    def done(self, refs: Sequence[str]) -> None:
        """Move handled messages (by :attr:`InboxItem.ref`) out of the way, to the done folder.

        Called once per batch, after the batch's ledger commit; a ref no longer there (moved by
        a mail client meanwhile) is skipped.
        """
        ...

    def close(self) -> None: ...


def open_mailbox(cfg: InboxConfig) -> Mailbox:
    """The mailbox ``[inbox]`` describes (not yet opened)."""
    if cfg.kind == "maildir":
        from digestmail.inbound.maildir import MaildirMailbox

        return MaildirMailbox(cfg.maildir)
    from digestmail.inbound.imap import ImapMailbox

    return ImapMailbox(cfg)
