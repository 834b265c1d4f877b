"""The frozen values of sending: Issue -> Recipient -> OutgoingMessage -> Delivery.

Kept apart from :mod:`digestmail.models` (posts and selections) so that a command that only
reads posts, ``digestmail posts``, does not define them at start-up: each frozen dataclass
compiles its generated methods when its module is imported, and these cost a fiftieth of that
command. Import them from :mod:`digestmail.models` as before; it hands them out from here on
first use. (``PostRef``, which selection needs, stays there.)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from digestmail.models import PostRef


@dataclass(frozen=True, slots=True)
class Issue:
    """A rendered digest: the same for every recipient until the per-recipient splice."""

    id: str
    list_name: str
    period: str
    subject: str
    html: str
    """HTML with CSS inlined; per-recipient placeholders still in it."""
    text: str
    """Plain-text twin; per-recipient placeholders still in it."""
    posts: tuple[PostRef, ...] = ()
    warnings: tuple[str, ...] = ()
    """What rendering left out and why (an image no client could show); not stored."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """One subscriber row, its address validated and normalised."""

    email: str
    name: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)
    """Every other CSV column, available to templates as ``subscriber.<column>``."""
    line: int = 0
    """Line of the subscriber file the row came from (0 for addresses given on the command line)."""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One recipient's message, ready for any transport.

    ``data`` is wire-ready: CRLF line ends, no line longer than 998 octets, and no line that
    starts with ``.``, so an SMTP client can send it after DATA without dot-stuffing it again.
    """

    email: str
    """Envelope recipient (the subscriber's normalised address)."""
    message_id: str
    """The Message-ID header value, with angle brackets."""
    data: bytes
    sender: str = ""
    """The envelope sender (MAIL FROM) of this message alone: its VERP return path when
    ``inbox.bounce_address`` is set; empty means the list's ``from`` address."""


class IssueStatus(enum.StrEnum):
    """Where an issue stands in the ledger."""

    OPEN = "open"
    """Stored and not finished: partly delivered, to be resumed by the next run."""
    FINISHED = "finished"
    SKIPPED = "skipped"
    """Recorded as not mailed (an empty period), so it is never due again."""

    @property
    def handled(self) -> bool:
        """Done with: never due again."""
        return self is not IssueStatus.OPEN


class ProblemKind(enum.StrEnum):
    """Why a subscriber row is not mailed."""

    INVALID = "invalid"
    DUPLICATE = "duplicate"
    SUPPRESSED = "suppressed"


class DeliveryStatus(enum.StrEnum):
    """Where one message to one address stands in the ledger."""

    QUEUED = "queued"
    """Attempted: recorded before its SMTP transaction, so a crash re-sends it (at most once)."""
    SENT = "sent"
    FAILED_TEMPORARY = "failed_temporary"
    """Deferred (4xx, dropped connection): the next run tries again."""
    FAILED_PERMANENT = "failed_permanent"
    SUPPRESSED = "suppressed"
    """Not sent: the address unsubscribed or bounced before its message started."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """The ledger's record of one message to one address."""

    issue_id: str
    email: str
    status: DeliveryStatus
    attempts: int = 0
    last_code: int | None = None
    last_reply: str = ""
    message_id: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    relay: str | None = None
    """The relay that gave the last outcome (accepted it, when sent); None without one."""
