"""One send as one value: what goes out, to which list, recorded where, and how.

A send needs the same handful of settings in the use case, the
public entry points and the workers; a frozen :class:`SendJob` is built once where the send is
decided (the CLI or ``run-due``) and handed down unchanged, so no layer can quietly drop one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from digestmail.config import Config, ListConfig
from digestmail.deliver.counts import ProgressSink
from digestmail.ledger.store import Ledger
from digestmail.models import Issue, OutgoingMessage, Recipient


@dataclass(frozen=True, slots=True)
class SendJob:
    """What to send (``issue``), to whom (``list_cfg``, or only ``test_addresses``), and how."""

    config: Config
    list_cfg: ListConfig
    issue: Issue
    ledger: Ledger
    dry_run: bool = False
    """Read the ledger, write nothing anywhere, open no connection; count what would go."""
    test_addresses: tuple[str, ...] = ()
    """Send test copies to exactly these addresses instead of the list (``send --to``)."""
    on_progress: ProgressSink | None = None
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    """Set by SIGINT/SIGTERM: finish in-flight messages, flush the ledger, exit 75."""
    total: int | None = None
    """Rows in the subscriber file, when known, for the progress bar."""


class MessageFactoryLike(Protocol):
    """What a send needs from :class:`digestmail.message.factory.MessageFactory`."""

    def build(self, recipient: Recipient) -> OutgoingMessage: ...

    def message_id(self, email: str) -> str:
        """The Message-ID ``build`` will use for ``email``: the ledger records it up front."""
        ...

    def with_id_scope(self, scope: str) -> MessageFactoryLike:
        """A factory of the same messages whose Message-IDs (in ``build`` and ``message_id``
        alike) also depend on ``scope``, so they differ from this factory's: test copies."""
        ...


FactoryMaker = Callable[[Issue], MessageFactoryLike]
"""Builds the message factory from the issue actually sent (the stored copy when resuming)."""
