"""A fast path for the plain YAML front matter nearly every post uses.

PyYAML spends most of its time (even with the C loader) building Python objects node by node;
on a 10,000-post site that alone made reading slower than Hugo. Front matter written by people
and CMSs is nearly always ``key: "text"``, ``key: true``, ``key: [..]`` and one level of nested
keys, so this module reads exactly that subset and answers ``None`` for anything else, which then
goes to PyYAML. It must never disagree with PyYAML: whatever it is unsure of (escapes, anchors,
comments after values, multi-line strings, YAML 1.1 words such as ``yes``/``off``), it declines.
Timestamps stay text, as in :mod:`digestmail.content.frontmatter`.

Beyond one line a key, it reads the two multi-line forms real sites use for descriptions: a
plain text whose lines go on indented below its key (joined with single spaces, as YAML folds
them), and a literal block (``|`` or ``|-``, no indentation or chomping indicators besides).

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
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[Tt ][0-9:.+\-Z ]*)?")
# A plain word or phrase PyYAML reads as a string: starts with a letter, no YAML indicators.
_PLAIN = re.compile(r"[^\W\d_][^:#\[\]{},\"'&*!|>%@`]*")
# Outside brackets a plain text may hold more: quotes, '!', '&', brackets, a ':' not followed
# by a space, a '#' not after a space. Never a tab, a line break, or what PyYAML refuses to read
# (C0/C1 controls, DEL, U+FFFE/U+FFFF).
_UNREADABLE = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff"
_TEXT_CHAR = rf"(?:[^:#\t\n\r{_UNREADABLE}]|:(?=[^ ])|(?<! )#)"
_BLOCK_PLAIN = re.compile(rf"[^\W\d_]{_TEXT_CHAR}*")
# A further line of a plain text (indent removed): as above, but it may start with any sign
# that cannot start a YAML node.
_MORE_PLAIN = re.compile(rf"(?![-?:,\[\]{{}}#&*!|>'\"%@` ]){_TEXT_CHAR}+")
# A line of a literal block, after its indent: text PyYAML reads, without tabs (declined).
_LITERAL_LINE = re.compile(rf"[^\t\n\r{_UNREADABLE}]*")
# YAML 1.1 words PyYAML turns into booleans or null (it only knows these spellings).
_SPECIAL: dict[str, Any] = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    **dict.fromkeys(("null", "Null", "NULL", "~")),
}


class _Decline(Exception):
    """The text is outside the subset; let PyYAML read it."""


def _scalar(text: str, plain: re.Pattern[str] = _PLAIN) -> Any:
    """One value; ``plain`` is what a plain text may be (:data:`_BLOCK_PLAIN` outside brackets)."""
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
    if _FLOAT.fullmatch(text):
        return float(text)
    if _DATE.fullmatch(text) and ": " not in text and not text.endswith(":"):
        return text
    if plain.fullmatch(text) and text == text.strip():
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
    return _scalar(text, _BLOCK_PLAIN)


def _more_lines(lines: list[str], i: int) -> int:
    """Where the lines that go on a top-level value (indented by spaces, not blank) end."""
    n = len(lines)
    while i < n and lines[i][:1] == " " and not lines[i].isspace():
        i += 1
    return i


def _plain_lines(parts: list[str]) -> str:
    """A plain text over several lines, as YAML folds it: the lines joined by single spaces."""
    words = [part.strip(" ") for part in parts]
    if not _BLOCK_PLAIN.fullmatch(words[0]) or not all(map(_MORE_PLAIN.fullmatch, words[1:])):
        raise _Decline
    return " ".join(words)


def _literal(lines: list[str], i: int, *, clip: bool) -> tuple[str, int]:
    """A literal block (``|`` clip, ``|-`` strip) below a top-level key, and the line after it.

    Its indent is the first line's, which must hold text; a line with less indent that is not
    blank ends it; blank lines inside stay, trailing ones go (``|`` keeps one line end).
    """
    n = len(lines)
    first = lines[i] if i < n else ""
    width = len(first) - len(first.lstrip(" "))
    if not width or first.isspace():
        raise _Decline
    prefix = " " * width
    kept: list[str] = []
    broken = False  # whether the last text line ends in a line break (the block may not)
    while i < n:
        line = lines[i]
        if line.startswith(prefix):
            text = line[width:]
            if text.isspace() or not _LITERAL_LINE.fullmatch(text):
                raise _Decline  # spaces beyond the indent on a blank line: PyYAML's call
            kept.append(text)
            broken = i + 1 < n
        elif not line.strip(" "):  # empty, or fewer spaces than the indent
            kept.append("")
        elif line.isspace():
            raise _Decline  # tabs: PyYAML's call
        else:
            break
        i += 1
    while kept and not kept[-1]:
        kept.pop()
    text = "\n".join(kept)
    return (text + "\n" if clip and broken else text), i


def load(block: str) -> dict[str, Any] | None:
    """The mapping in ``block`` with lower-cased keys, or ``None`` when PyYAML must decide."""
    result: dict[str, Any] = {}
    nested: dict[str, Any] | None = None
    indent = ""
    key_line, nested_line = _KEY_LINE.fullmatch, _NESTED_LINE.fullmatch
    lines = block.split("\n")
    i, n = 0, len(lines)
    try:
        while i < n:
            line = lines[i]
            i += 1
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
            if raw == "|" or raw == "|-":
                nested = None
                result[key], i = _literal(lines, i, clip=raw == "|")
                continue
            end = _more_lines(lines, i)
            if raw:
                nested = None
                result[key] = _plain_lines([raw, *lines[i:end]]) if end > i else _value(raw)
                i = end
            elif end > i and nested_line(lines[i]) is None:  # a value on the lines below
                nested = None
                result[key] = _value(lines[i].strip(" ")) if end == i + 1 else None
                if end > i + 1:
                    result[key] = _plain_lines(lines[i:end])
                i = end
            else:
                nested, indent = {}, ""
                result[key] = nested
    except _Decline:
        return None
    # "key:" with nothing under it is null in YAML, not an empty mapping.
    return {k: (None if v == {} else v) for k, v in result.items()}
