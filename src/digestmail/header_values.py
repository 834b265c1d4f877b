"""The one guard every header value passes: no CR, LF or NUL from data, ever.

A leaf, so that render (the subject, checked as soon as it is rendered) and message (every
header of every message) refuse a line break with the same rule and the same words.
"""

from __future__ import annotations

import re

from digestmail.errors import HeaderInjectionError

_FORBIDDEN = re.compile(r"[\r\n\x00]")


def check_header_value(name: str, value: str) -> str:
    """Refuse CR, LF and NUL anywhere in a value; return the value so calls can be chained.

    Refusing (rather than stripping) makes a poisoned subscriber row or subject visible to the
    editor instead of silently sending something other than what was written.
    """
    match = _FORBIDDEN.search(value)
    if match:
        raise HeaderInjectionError(
            f"header {name}: value {value!r} contains a line break or NUL at position "
            f"{match.start()}; refused so it cannot start a new header line"
        )
    return value
