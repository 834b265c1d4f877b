"""Sending one issue exactly once per recipient through a transport, under the ledger's rules."""

from __future__ import annotations

from typing import TYPE_CHECKING

from digestmail.exports import lazy_exports

if TYPE_CHECKING:
    from digestmail.deliver.counts import Counts, Outcome, ProgressEvent, ProgressSink
    from digestmail.deliver.job import FactoryMaker, SendJob
    from digestmail.deliver.send import DeliveryReport, make_transport, send_issue, send_test_copies

__all__ = [
    "Counts",
    "DeliveryReport",
    "FactoryMaker",
    "Outcome",
    "ProgressEvent",
    "ProgressSink",
    "SendJob",
    "make_transport",
    "send_issue",
    "send_test_copies",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "Counts": "counts",
        "DeliveryReport": "send",
        "FactoryMaker": "job",
        "Outcome": "counts",
        "ProgressEvent": "counts",
        "ProgressSink": "counts",
        "SendJob": "job",
        "make_transport": "send",
        "send_issue": "send",
        "send_test_copies": "send",
    },
)
