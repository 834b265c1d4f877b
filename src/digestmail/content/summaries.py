"""A post's manual summary: the Markdown before ``<!--more-->``, split off as Hugo 0.111 does.

Hugo splits at the exact marker only (``<!-- more -->`` with spaces is an ordinary comment).
Without a marker the summary is Hugo's automatic one, counted on the *rendered* text; that is
made when a selected post is rendered (:mod:`digestmail.render.summary`), so reading a site of
thousands of posts never renders one of them.
"""

from __future__ import annotations

from typing import NamedTuple

MORE = "<!--more-->"


# A NamedTuple, not a frozen dataclass: as immutable, and defined at import without compiling
# six generated methods (about 1 ms a class, on every start of the command line).
class Summary(NamedTuple):
    """A body split at the marker."""

    summary: str | None
    """The Markdown before the marker, or None without a marker."""
    body: str
    """The whole body with the marker removed."""
    truncated: bool
    """The marker has text after it (always False without a marker: decided when rendered)."""


def summarize(body: str) -> Summary:
    """Split off the manual summary, if the post has one."""
    head, marker, tail = body.partition(MORE)
    if not marker:
        return Summary(None, body, False)
    full = head.rstrip() + ("\n\n" + tail.lstrip("\n") if tail.strip() else "")
    return Summary(head.strip(), full.strip("\n") + "\n", bool(tail.strip()))
