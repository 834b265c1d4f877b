"""A list's subscriber file as a stream of recipients and of problems with their lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

from digestmail.exports import lazy_exports

if TYPE_CHECKING:
    from digestmail.subscribers.reader import (
        SubscriberProblem,
        check_subscribers,
        count_rows,
        read_subscribers,
        require_columns,
    )

__all__ = [
    "SubscriberProblem",
    "check_subscribers",
    "count_rows",
    "read_subscribers",
    "require_columns",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "SubscriberProblem": "reader",
        "check_subscribers": "reader",
        "count_rows": "reader",
        "read_subscribers": "reader",
        "require_columns": "reader",
    },
)
