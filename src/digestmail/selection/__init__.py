"""Choosing an issue's posts: periods, the category filter, late tips, and why the rest is out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from digestmail.exports import lazy_exports

if TYPE_CHECKING:
    from digestmail.selection.late import late_window
    from digestmail.selection.periods import parse_period, period_label, period_of, previous_period
    from digestmail.selection.select import is_published

__all__ = [
    "is_published",
    "late_window",
    "parse_period",
    "period_label",
    "period_of",
    "previous_period",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "is_published": "select",
        "late_window": "late",
        "parse_period": "periods",
        "period_label": "periods",
        "period_of": "periods",
        "previous_period": "periods",
    },
)
