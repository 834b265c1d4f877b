"""The SQLite ledger: issues, deliveries, suppressions and leases, shared by every run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from digestmail.exports import lazy_exports

if TYPE_CHECKING:
    from digestmail.ledger.audience import Subscription, Suppression
    from digestmail.ledger.lease import Lease
    from digestmail.ledger.records import DeliveryResult, IssueSummary, StoredIssue
    from digestmail.ledger.store import Ledger

__all__ = [
    "DeliveryResult",
    "IssueSummary",
    "Lease",
    "Ledger",
    "StoredIssue",
    "Subscription",
    "Suppression",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "DeliveryResult": "records",
        "IssueSummary": "records",
        "Lease": "lease",
        "Ledger": "store",
        "StoredIssue": "records",
        "Subscription": "audience",
        "Suppression": "audience",
    },
)
