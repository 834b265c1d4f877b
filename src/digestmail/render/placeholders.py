"""The per-recipient holes in a rendered issue, shared by ``render`` (fills) and ``message``.

Rendering and CSS inlining happen once per issue, so whatever differs between recipients is left
as a token. The tokens are plain ASCII letters, digits and underscores: lxml and premailer leave
them alone in text and in ``href`` attributes, URL quoting does not touch them, and text wrapping
never splits them. The block markers fence what only a recipient may see (their address, their
unsubscribe link), so the web version can cut it out.
"""

from __future__ import annotations

import enum
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digestmail.models import Issue


class Slot(enum.StrEnum):
    EMAIL = "DM7SLOT_EMAIL_7DM"
    NAME = "DM7SLOT_NAME_7DM"
    UNSUBSCRIBE_URL = "DM7SLOT_UNSUBSCRIBE_URL_7DM"


_PREFIX = "DM7SLOT_"
_URL_PREFIX = "DM7SLOTU_"
_FIELD_PREFIX = "DM7SLOT_F"
_SUFFIX = "_7DM"

_NAMES = "|".join(s.value.removeprefix(_PREFIX).removesuffix(_SUFFIX) for s in Slot)
SLOT_PATTERN = re.compile(f"DM7SLOTU?_(?:{_NAMES}|F[0-9a-f]+){_SUFFIX}")
"""Finds every token, URL-encoded variants included; ``split`` yields the text between holes."""

BY_TOKEN: dict[str, Slot] = {s.value: s for s in Slot}


def url_encoded(token: str) -> str:
    """The variant of ``token`` whose value is filled in percent-encoded (for a URL's query)."""
    return _URL_PREFIX + token.removeprefix(_PREFIX) if token.startswith(_PREFIX) else token


def is_url_encoded(token: str) -> bool:
    return token.startswith(_URL_PREFIX)


def plain_token(token: str) -> str:
    """The token a URL-encoded variant stands for (any other token is returned as it is)."""
    return _PREFIX + token.removeprefix(_URL_PREFIX) if is_url_encoded(token) else token


def field_token(column: str) -> str:
    """The token for a subscriber CSV column; hex keeps any column name token-safe."""
    return f"{_FIELD_PREFIX}{column.encode('utf-8').hex()}{_SUFFIX}"


def field_of(token: str) -> str | None:
    """The CSV column a field token (or its URL-encoded variant) stands for, else None."""
    token = plain_token(token)
    if token in BY_TOKEN or not token.startswith(_FIELD_PREFIX):
        return None
    return bytes.fromhex(token[len(_FIELD_PREFIX) : -len(_SUFFIX)]).decode("utf-8")


class SubscriberFields:
    """What a theme sees as ``subscriber``: ``subscriber.city`` is the token of that column.

    ``email`` and ``name`` are the recipient's own; any other name is a CSV column, filled per
    recipient (empty when a row lacks it), so themes can personalise without a render per reader.
    """

    def __getattr__(self, column: str) -> str:
        if column.startswith("__"):
            raise AttributeError(column)
        return self[column]

    def __getitem__(self, column: str) -> str:
        key = column.lower()  # CSV header names are matched without case
        if key == "email":
            return Slot.EMAIL.value
        if key == "name":
            return Slot.NAME.value
        return field_token(key)


PERSONAL_START = "<!--dm:personal-->"
PERSONAL_END = "<!--/dm:personal-->"
TEXT_PERSONAL_START = "[[dm:personal]]"
TEXT_PERSONAL_END = "[[/dm:personal]]"
PERSONAL_BLOCK = re.compile(
    f"(?:{re.escape(PERSONAL_START)}|{re.escape(TEXT_PERSONAL_START)}).*?"
    f"(?:{re.escape(PERSONAL_END)}|{re.escape(TEXT_PERSONAL_END)})\n?",
    re.DOTALL,
)
MARKERS = re.compile(
    f"{re.escape(PERSONAL_START)}|{re.escape(PERSONAL_END)}"
    f"|{re.escape(TEXT_PERSONAL_START)}\n?|{re.escape(TEXT_PERSONAL_END)}\n?"
)


def defuse(text: str) -> str:
    """Remove tokens and markers that came from content, so a post cannot fill a hole.

    Repeated until nothing changes: removing ``DM7SLOT_EMAIL_7DM`` from the middle of
    ``DM7SLOT_NA…ME_7DM`` would otherwise leave a new, working token behind.
    """
    while True:
        cleaned = MARKERS.sub("", SLOT_PATTERN.sub("", text))
        if cleaned == text:
            return cleaned
        text = cleaned


def without_personal(text: str) -> str:
    """The text with every per-recipient block removed (the public web version)."""
    return PERSONAL_BLOCK.sub("", text)


def without_markers(text: str) -> str:
    """The text with the markers dropped but the blocks kept (what a recipient sees)."""
    return MARKERS.sub("", text)


def web_version(issue: Issue) -> str:
    """The issue's HTML with every per-recipient part removed, for the public web archive.

    Blocks between the personal markers go entirely; a token a theme used outside them (a
    greeting with ``subscriber.name``) is left empty.
    """
    return SLOT_PATTERN.sub("", without_personal(issue.html))


def used_columns(issue: Issue) -> set[str]:
    """The subscriber CSV columns a rendered issue fills per recipient."""
    pattern = SLOT_PATTERN
    tokens = pattern.findall(issue.html) + pattern.findall(issue.text)
    return {c for c in map(field_of, tokens) if c is not None}
