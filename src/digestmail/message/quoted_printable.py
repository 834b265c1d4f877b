"""Quoted-printable (RFC 2045) in pieces that can be joined without re-encoding.

Every piece this module returns starts at the beginning of a line and ends at the end of one
(with a soft break ``=`` when the text continues), so a message is assembled by concatenating
fixed, pre-encoded pieces with freshly encoded recipient values. A ``.`` at the start of a line is
always written as ``=2E``: SMTP then needs no dot-stuffing and no line is ever mistaken for the
end of DATA.
"""

from __future__ import annotations

MAX_LINE = 76
_BODY = MAX_LINE - 1  # room for the soft-break "="

_LITERAL = frozenset(range(0x21, 0x7F)) - {ord("=")}
_TABLE: tuple[str, ...] = tuple(
    chr(b) if b in _LITERAL or b == 0x20 else f"={b:02X}" for b in range(256)
)


def _tokens(line: str) -> list[str]:
    """Per character, its encoded form (several ``=XX`` for a non-ASCII char, never split)."""
    table = _TABLE
    return ["".join([table[b] for b in ch.encode("utf-8")]) for ch in line]


def _encode_line(line: str, out: list[str]) -> None:
    tokens = _tokens(line)
    if tokens and tokens[-1] == " ":
        tokens[-1] = "=20"
    current = ""
    for token in tokens:
        if len(current) + len(token) > _BODY:
            out.append(current + "=\r\n")
            current = ""
        if not current and token == ".":
            token = "=2E"
        current += token
    out.append(current)


def encode_qp(text: str) -> bytes:
    """Encode ``text`` (``\\n`` line ends); a piece not ending in a newline ends in a soft break."""
    if not text:
        return b""
    lines = text.split("\n")
    out: list[str] = []
    for line in lines[:-1]:
        _encode_line(line, out)
        out.append("\r\n")
    if lines[-1]:
        _encode_line(lines[-1], out)
        out.append("=\r\n")
    return "".join(out).encode("ascii")


def encode_qp_value(value: str) -> bytes:
    """A short one-line value (an address, a URL) as its own soft-broken line(s); fast path."""
    if not value:
        return b""
    if "\n" in value:
        return encode_qp(value.replace("\n", " "))
    encoded = "".join([_TABLE[b] for b in value.encode("utf-8")])
    if len(encoded) <= _BODY and encoded[0] != ".":
        return (encoded + "=\r\n").encode("ascii")
    return _chunk(encoded).encode("ascii")


def _chunk(encoded: str) -> str:
    """Cut an encoded line into soft-broken lines, never inside an ``=XX`` escape."""
    out: list[str] = []
    i, n = 0, len(encoded)
    while i < n:
        lead = ""
        if encoded[i] == ".":
            lead, i = "=2E", i + 1
        j = min(i + _BODY - len(lead), n)
        if j < n:
            if encoded[j - 1] == "=":
                j -= 1
            elif encoded[j - 2] == "=":
                j -= 2
        out.append(lead + encoded[i:j] + "=\r\n")
        i = j
    return "".join(out)
