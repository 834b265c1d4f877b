"""Rendering a selection once per issue: theme, Markdown, plain text, with per-recipient holes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from digestmail.exports import lazy_exports

if TYPE_CHECKING:
    from digestmail.render.placeholders import used_columns, web_version
    from digestmail.render.theme import GMAIL_CLIP_BYTES, render_issue, render_subject

__all__ = [
    "GMAIL_CLIP_BYTES",
    "render_issue",
    "render_subject",
    "used_columns",
    "web_version",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "GMAIL_CLIP_BYTES": "theme",
        "render_issue": "theme",
        "render_subject": "theme",
        "used_columns": "placeholders",
        "web_version": "placeholders",
    },
)
