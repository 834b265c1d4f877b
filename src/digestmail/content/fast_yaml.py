"""A fast path for the plain YAML front matter nearly every post uses.

PyYAML spends most of its time (even with the C loader) building Python objects node by node;
on a 10,000-post site that alone made reading slower than Hugo. Front matter written by people
and CMSs is nearly always ``key: "text"``, ``key: true``, ``key: [..]`` and one level of nested
keys, so this module reads exactly that subset and answers ``None`` for anything else, which then
goes to PyYAML. It must never disagree with PyYAML: whatever it is unsure of (escapes, anchors,
comments after values, multi-line strings, YAML 1.1 words such as ``yes``/``off``), it declines.
Timestamps stay text, as in :mod:`digestmail.content.frontmatter`.

Anchors (``&name``) and aliases (``*name``) are always declined, explicitly and not only because
no pattern here fits them: the limit on what aliases may expand to lives on PyYAML's path in
:mod:`digestmail.content.frontmatter`, so they must never be read anywhere else.
"""

from __future__ import annotations

import re
from typing import Any

_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?:[ \t]+(.*?))?[ \t]*")
_NESTED_LINE = re.compile(r"( +)([A-Za-z_][A-Za-z0-9_-]*):(?:[ \t]+(.*?))?[ \t]*")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[Tt ][0-9:.+\-Z ]*)?")
# A plain word or phrase PyYAML reads as a string: starts with a letter, no YAML indicators.
_PLAIN = re.compile(r"[^\W\d_][^:#\[\]{},\"'&*!|>%@`]*")
# YAML 1.1 words PyYAML turns into booleans or null (it only knows these spellings).
_SPECIAL: dict[str, Any] = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    **dict.fromkeys(("null", "Null", "NULL", "~")),
}


class _Decline(Exception):
    """The text is outside the subset; let PyYAML read it."""


def _scalar(text: str) -> Any:
    first = text[:1]
    if first in ("&", "*"):
        raise _Decline  # an anchor or alias: PyYAML's path, where their expansion is bounded
    if first in ('"', "'"):
        inner = text[1:-1]
        if len(text) > 1 and text[-1] == first and first not in inner and "\\" not in inner:
            return inner
        raise _Decline
    if text in _SPECIAL:
        return _SPECIAL[text]
    if _INT.fullmatch(text):
        return int(text)
    if _DATE.fullmatch(text) and ": " not in text and not text.endswith(":"):
        return text
    if _PLAIN.fullmatch(text) and text == text.strip():
        return text
    raise _Decline


def _value(text: str | None) -> Any:
    if not text:
        return None
    if text[0] == "[" and text[-1] == "]":
        inner = text[1:-1].strip()
        if not inner:
            return []
        return [_scalar(item.strip()) for item in inner.split(",")]
    return _scalar(text)


def load(block: str) -> dict[str, Any] | None:
    """The mapping in ``block`` with lower-cased keys, or ``None`` when PyYAML must decide."""
    result: dict[str, Any] = {}
    nested: dict[str, Any] | None = None
    indent = ""
    key_line, nested_line = _KEY_LINE.fullmatch, _NESTED_LINE.fullmatch
    try:
        for line in block.split("\n"):
            first = line[:1]
            if first == "#" or not line:
                continue
            if first == " " or first == "\t":
                if line.isspace():
                    continue
                found = nested_line(line)
                if nested is None or found is None or (indent and found.group(1) != indent):
                    return None
                indent = found.group(1)
                nested[found.group(2).lower()] = _value(found.group(3))
                continue
            found = key_line(line)
            if found is None:
                return None
            key, raw = found.group(1).lower(), found.group(2)
            if key in result:
                return None  # duplicates (also "Date" and "date") are PyYAML's business
            if raw:
                nested = None
                result[key] = _value(raw)
            else:
                nested, indent = {}, ""
                result[key] = nested
    except _Decline:
        return None
    # "key:" with nothing under it is null in YAML, not an empty mapping.
    return {k: (None if v == {} else v) for k, v in result.items()}
