"""A fast path for the plain YAML front matter nearly every post uses.

PyYAML spends most of its time (even with the C loader) building Python objects node by node;
on a 10,000-post site that alone made reading slower than Hugo. Front matter written by people
and CMSs is nearly always ``key: "text"``, ``key: true``, ``key: [..]``, and themes' nested
``params`` (mappings and ``- item`` sequences inside each other, a ``# comment`` after a value),
so this module reads exactly that subset and answers ``None`` for anything else, which then
goes to PyYAML. It must never disagree with PyYAML: whatever it is unsure of (escapes, anchors,
quotes before a comment, folded strings, flow mappings), it declines.
Timestamps stay text, as in :mod:`digestmail.content.frontmatter`.

Beyond one line a key, it reads the two multi-line forms real sites use for descriptions: a
plain text whose lines go on indented below its key (joined with single spaces, as YAML folds
them), and a literal block (``|`` or ``|-``, no indentation or chomping indicators besides).

Anchors (``&name``) and aliases (``*name``) are always declined, explicitly and not only because
no pattern here fits them: the limit on what aliases may expand to lives on PyYAML's path in
:mod:`digestmail.content.frontmatter`, so they must never be read anywhere else.
"""

from __future__ import annotations

import functools
import re
from typing import Any

# The value is everything up to its last non-blank character: ".*[^ \t]" backtracks over the
# trailing blanks only, where a lazy ".*?" tried the end of the line after every character.
_KEY_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*):(?:[ \t]+((?:.*[^ \t])?))?[ \t]*")
_NESTED_LINE = re.compile(r"( +)([A-Za-z_][A-Za-z0-9_-]*):(?:[ \t]+((?:.*[^ \t])?))?[ \t]*")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?(?:0|[1-9][0-9]*)\.[0-9]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[Tt ][0-9:.+\-Z ]*)?")
# Outside brackets a plain text may hold more: quotes, '!', '&', brackets, a ':' not followed
# by a space, a '#' not after a space. Never a tab, a line break, or what PyYAML refuses to read
# (C0/C1 controls, DEL, U+FFFE/U+FFFF).
_UNREADABLE = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufffe\uffff"
# A plain text starts with a letter or any sign that no YAML indicator or resolver claims
# ("/docs/", an emoji); signs that start numbers (digits, '+', '-', '.') are taken below.
_PLAIN_START = rf"[^\s\-?:,\[\]{{}}#&*!|>'\"%@`0-9+.~=<{_UNREADABLE}]"
# A plain word or phrase PyYAML reads as a string inside brackets: no YAML indicators.
_PLAIN = re.compile(rf"{_PLAIN_START}[^:#\[\]{{}},\"'&*!|>%@`]*")
# Any run of those characters, written as runs of ordinary ones between the ':' and '#' that
# need a look around, so the regex engine tries the alternatives only at those two signs.
_TEXT_CHARS = rf"[^:#\t\n\r{_UNREADABLE}]*(?:(?::(?=[^ ])|(?<! )#)[^:#\t\n\r{_UNREADABLE}]*)*"
_BLOCK_PLAIN = re.compile(rf"{_PLAIN_START}{_TEXT_CHARS}")
_COMMENT = re.compile(r"[ \t]+#")


# A plain text that starts with a digit ("8+", "10,000 members", "3D-Druck") is text to PyYAML
# unless one of its YAML 1.1 resolvers for numbers and times matches it; those, copied from
# PyYAML's resolver.py, decide here too (what they match and the rules above did not take is
# declined). Compiled on first use: a plain text starting with a digit is rare, and the three
# patterns were a third of this module's import.
@functools.cache
def _digit_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(YAML 1.1 numbers and times, a digit-led text in brackets, one outside them)."""
    yaml11 = re.compile(
        r"""(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN)
        |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        |[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+
        |[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
        |[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?
         (?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?
         (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
        re.X,
    )
    digit_plain = re.compile(r"[0-9.][^:#\[\]{},\"'&*!|>%@`]*")
    return yaml11, digit_plain, re.compile(rf"[0-9.]{_TEXT_CHARS}")


# A further line of a plain text (indent removed): as above, but it may start with any sign
# that cannot start a YAML node.
_MORE_PLAIN = re.compile(rf"(?![-?:,\[\]{{}}#&*!|>'\"%@` ])(?!\Z){_TEXT_CHARS}")
# A line of a literal block, after its indent: text PyYAML reads, without tabs (declined).
_LITERAL_LINE = re.compile(rf"[^\t\n\r{_UNREADABLE}]*")
# YAML 1.1 words PyYAML turns into booleans or null (it only knows these spellings).
_SPECIAL: dict[str, Any] = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
    **dict.fromkeys(("null", "Null", "NULL", "~")),
}


_NUMBER_STARTS = frozenset("-0123456789")
"""What :data:`_INT`, :data:`_FLOAT` and :data:`_DATE` can start with."""


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
    if first in _NUMBER_STARTS:  # a number or a date; the usual word cannot be either
        if _INT.fullmatch(text):
            return int(text)
        if _FLOAT.fullmatch(text):
            return float(text)
        if _DATE.fullmatch(text) and ": " not in text and not text.endswith(":"):
            return text
    if plain.fullmatch(text) and text == text.strip():
        return text
    numeric_start = "0" <= first <= "9" or first == "."
    if numeric_start and text == text.strip():
        yaml11, digit_plain, digit_block_plain = _digit_patterns()
        if yaml11.match(text):
            raise _Decline
        digits = digit_block_plain if plain is _BLOCK_PLAIN else digit_plain
        if digits.fullmatch(text):
            return text
    raise _Decline


def _uncomment(text: str | None) -> str | None:
    """A one-line value without its trailing ``# comment``; quotes make it PyYAML's call."""
    if text and "#" in text:
        found = _COMMENT.search(text)
        if found is not None:
            if "'" in text or '"' in text:
                raise _Decline  # the '#' may be inside the quotes
            return text[: found.start()]
    return text


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


def _literal(lines: list[str], i: int, *, clip: bool, above: int) -> tuple[str, int]:
    """A literal block (``|`` clip, ``|-`` strip) below a key at indent ``above``, and the
    line after it.

    Its indent is the first line's, deeper than the key's, and that line must hold text; a
    line with less indent that is not blank ends it; blank lines inside stay, trailing ones
    go (``|`` keeps one line end).
    """
    n = len(lines)
    first = lines[i] if i < n else ""
    width = len(first) - len(first.lstrip(" "))
    if width <= above or first.isspace():
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


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_item(text: str) -> bool:
    """A block sequence entry: ``- value`` (or a bare ``-``)."""
    return text[:1] == "-" and text[1:2] in (" ", "")


def _peek(lines: list[str], i: int) -> int:
    """The next line from ``i`` that holds a node: blank and comment lines skipped.

    A tab in front of a node is PyYAML's call (an error in an indent).
    """
    n = len(lines)
    while i < n:
        text = lines[i].lstrip(" ")
        if text[:1] == "\t":
            raise _Decline
        if text and text[0] != "#":
            return i
        i += 1
    return n


def _below(lines: list[str], i: int, width: int) -> tuple[Any, int]:
    """The value of a ``key:`` at indent ``width`` with nothing after it: a block, or null.

    A sequence may sit at its key's own indent (``key:`` then ``- a`` below it).
    """
    j = _peek(lines, i)
    if j < len(lines):
        indent = _indent(lines[j])
        if indent > width or (indent == width and _is_item(lines[j][indent:])):
            return _block(lines, j, width)
    return None, i


def _block(lines: list[str], i: int, parent: int) -> tuple[Any, int]:
    """The mapping or sequence whose first line is ``i``, nested under indent ``parent``."""
    indent = _indent(lines[i])
    if _is_item(lines[i][indent:]):
        return _sequence(lines, i, indent)
    if indent <= parent:
        raise _Decline
    return _mapping(lines, i, indent, None)


def _entry(text: str, lines: list[str], i: int, width: int) -> tuple[str, Any, int]:
    """One ``key: value`` of a nested mapping at indent ``width``; ``i`` is the line after."""
    found = _KEY_LINE.fullmatch(text)
    if found is None:
        raise _Decline
    key, raw = found.group(1).lower(), found.group(2)
    if raw == "|" or raw == "|-":
        value, i = _literal(lines, i, clip=raw == "|", above=width)
        return key, value, i
    raw = _uncomment(raw)
    if not raw:
        value, i = _below(lines, i, width)
        return key, value, i
    j = _peek(lines, i)
    if j < len(lines) and _indent(lines[j]) > width:
        raise _Decline  # a text going on below its key, or a node where none may be
    return key, _value(raw), i


def _line_at(lines: list[str], i: int, width: int) -> tuple[int, str | None]:
    """The next node's line from ``i`` and its text after ``width`` spaces; None for the text
    when the block at ``width`` ends there (the end, or a line indented less)."""
    i = _peek(lines, i)
    if i >= len(lines) or _indent(lines[i]) < width:
        return i, None
    if _indent(lines[i]) > width:
        raise _Decline  # deeper than the block's entries, with no key above to take it
    return i, lines[i][width:]


def _mapping(lines: list[str], i: int, width: int, first: str | None) -> tuple[Any, int]:
    """The entries at indent ``width`` from line ``i``; ``first`` is the text of line ``i``
    when the mapping opens a sequence entry (``- key: value``)."""
    out: dict[str, Any] = {}
    while True:
        if first is not None:
            text, first = first, None
        else:
            i, found = _line_at(lines, i, width)
            if found is None:
                break
            text = found
        key, value, i = _entry(text, lines, i + 1, width)
        if key in out:
            raise _Decline  # duplicates, also once lower-cased, are PyYAML's business
        out[key] = value
    return out, i


def _sequence(lines: list[str], i: int, width: int) -> tuple[list[Any], int]:
    """The ``- item`` lines at indent ``width`` from line ``i``: scalars or mappings."""
    out: list[Any] = []
    n = len(lines)
    while True:
        i, text = _line_at(lines, i, width)
        if text is None or not _is_item(text):
            break  # the mapping this sequence is a value of goes on at the same indent
        content = text[1:].lstrip(" ")
        if not content or _is_item(content) or content[0] in "|>":
            raise _Decline  # a block below a bare '-', a sequence in a sequence, a block text
        if _KEY_LINE.fullmatch(content):
            value, i = _mapping(lines, i, width + len(text) - len(content), content)
        else:
            j = _peek(lines, i + 1)
            if j < n and _indent(lines[j]) > width:
                raise _Decline  # a text going on over several lines
            value, i = _value(_uncomment(content)), i + 1
        out.append(value)
    return out, i


def load(block: str) -> dict[str, Any] | None:
    """The mapping in ``block`` with lower-cased keys, or ``None`` when PyYAML must decide."""
    try:
        return _load(block)
    except (_Decline, RecursionError):  # deep nesting: PyYAML's own limits decide
        return None


def _load(block: str) -> dict[str, Any] | None:
    result: dict[str, Any] = {}
    key_line, nested_line = _KEY_LINE.fullmatch, _NESTED_LINE.fullmatch
    lines = block.split("\n")
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        i += 1
        first = line[:1]
        if first == "#" or not line:
            continue
        if first == " " or first == "\t":
            if line.isspace():
                continue
            return None  # an indented line no key above takes
        found = key_line(line)
        if found is None:
            return None
        key, raw = found.group(1).lower(), found.group(2)
        if key in result:
            return None  # duplicates (also "Date" and "date") are PyYAML's business
        if raw == "|" or raw == "|-":
            result[key], i = _literal(lines, i, clip=raw == "|", above=0)
            continue
        # the next line goes on this value only when indented (the usual case: it does not)
        end = _more_lines(lines, i) if i < n and lines[i][:1] == " " else i
        if raw and end == i and "#" in raw:
            raw = _uncomment(raw)
        if raw:
            result[key] = _plain_lines([raw, *lines[i:end]]) if end > i else _value(raw)
            i = end
        elif end > i and nested_line(lines[i]) is None and not _is_item(lines[i].lstrip(" ")):
            # a text on the lines below its key
            result[key] = _value(lines[i].strip(" ")) if end == i + 1 else None
            if end > i + 1:
                result[key] = _plain_lines(lines[i:end])
            i = end
        else:
            result[key], i = _below(lines, i, 0)
    return result
