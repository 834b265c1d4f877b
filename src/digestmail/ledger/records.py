"""The values the ledger hands out, and how its rows become them.

Kept apart from :mod:`digestmail.ledger.store` so the queries there read without the conversions;
import these names from ``digestmail.ledger.store``, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from digestmail.models import Delivery, DeliveryStatus, Issue, IssueStatus


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """The outcome of one attempt, as the delivery engine hands it to the ledger."""

    email: str
    status: DeliveryStatus
    code: int | None
    reply: str
    relay: str | None = None
    """The relay that gave this outcome (``[[smtp.relays]]`` name); None without one."""


@dataclass(frozen=True, slots=True)
class StoredIssue:
    """An issue as the ledger keeps it: the content its first send used, and where it stands."""

    issue: Issue
    content_hash: str
    status: IssueStatus
    """Skipped issues have no content: nothing was sent."""
    created_at: datetime
    finished_at: datetime | None
    skip_reason: str = ""


@dataclass(frozen=True, slots=True)
class IssueSummary:
    """One line of ``digestmail status``."""

    id: str
    list_key: str
    period: str
    subject: str
    status: IssueStatus
    created_at: datetime
    finished_at: datetime | None
    skip_reason: str = ""
    counts: dict[DeliveryStatus, int] = field(default_factory=dict)
    relays: dict[str, dict[DeliveryStatus, int]] = field(default_factory=dict)
    """Per relay name, its deliveries per status (the relay of each row's last outcome)."""


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def zero_counts() -> dict[DeliveryStatus, int]:
    return dict.fromkeys(DeliveryStatus, 0)


DELIVERY_COLUMNS = (
    "issue_id, email, status, attempts, last_code, last_reply, message_id, created_at,"
    " updated_at, relay"
)


def delivery_from_row(row: tuple[Any, ...]) -> Delivery:
    # Rows come from the driver untyped; the schema's NOT NULL and CHECK constraints are what
    # make these conversions safe.
    issue_id, email, status, attempts, code, reply, message_id, created, updated, relay = row
    return Delivery(
        issue_id=str(issue_id),
        email=str(email),
        status=DeliveryStatus(status),
        attempts=int(attempts),
        last_code=None if code is None else int(code),
        last_reply=str(reply),
        message_id=str(message_id),
        created_at=parse_time(created),
        updated_at=parse_time(updated),
        relay=None if relay is None else str(relay),
    )


Tally = tuple[dict[DeliveryStatus, int], dict[str, dict[DeliveryStatus, int]]]
"""An issue's deliveries per status, and per relay name per status."""


def tally_from_rows(rows: Iterable[tuple[Any, ...]]) -> Tally:
    """``(status, relay, count)`` rows as both counts; relays in name order, NULL left out."""
    counts = zero_counts()
    relays: dict[str, dict[DeliveryStatus, int]] = {}
    for status, relay, n in rows:
        counts[DeliveryStatus(status)] += int(n)
        if relay is not None:
            relays.setdefault(str(relay), zero_counts())[DeliveryStatus(status)] = int(n)
    return counts, dict(sorted(relays.items()))
