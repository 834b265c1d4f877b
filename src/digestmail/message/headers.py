"""Header values for the wire, written by hand so no data can ever open a new header line.

The ``email`` package is not used to generate headers: before Python 3.11.10 / 3.12.5 it turns an
encoded word that hides CR/LF into a real line break (CVE-2024-6923). Here every value passes
:func:`~digestmail.header_values.check_header_value` first, and everything that leaves this
module is printable ASCII, so a line break on the wire can only be one this module put there
for folding.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

from digestmail.errors import HeaderInjectionError
from digestmail.header_values import check_header_value

MAX_LINE = 78
"""RFC 5322's recommended line length; the hard limit (998) is never approached."""

_PRINTABLE = re.compile(r"[\x20-\x7e]*")
_ATOM_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_ADDR = re.compile(r"[^\s<>()\[\],;:\"\\@?]+@[^\s<>()\[\],;:\"\\@?]+")

# RFC 2047 section 5 (3): inside a phrase only these may stay literal in a "Q" encoded word.
_Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
_Q_TABLE = tuple("_" if b == 0x20 else chr(b) if b in _Q_SAFE else f"={b:02X}" for b in range(256))
_PREFIX = "=?utf-8?q?"
_MAX_WORD = 68
"""Shorter than RFC 2047's 75, so "Reply-To: " plus one word still fits in 78 columns."""
_MAX_PAYLOAD = _MAX_WORD - len(_PREFIX) - 2


def _q_words(text: str) -> list[str]:
    """Encode ``text`` as "Q" encoded words of at most 68 characters, never splitting a char."""
    whole = "".join([_Q_TABLE[b] for b in text.encode("utf-8")])
    if len(whole) <= _MAX_PAYLOAD:
        return [_PREFIX + whole + "?="]
    words: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        piece = "".join(_Q_TABLE[b] for b in char.encode("utf-8"))
        if size + len(piece) > _MAX_PAYLOAD and current:
            words.append(_PREFIX + "".join(current) + "?=")
            current, size = [], 0
        current.append(piece)
        size += len(piece)
    if current:
        words.append(_PREFIX + "".join(current) + "?=")
    return words


def encode_word(text: str) -> str:
    """Unstructured text (a Subject) as printable ASCII: unchanged if it can be, else RFC 2047.

    Words are separated by single spaces, where :func:`fold` may break the line; whitespace
    between adjacent encoded words is dropped by decoders, so the text round-trips exactly.
    """
    check_header_value("value", text)
    plain = (
        _PRINTABLE.fullmatch(text)
        and "=?" not in text
        and text == text.strip()
        and "  " not in text
        and all(len(w) <= MAX_LINE - 10 for w in text.split(" "))
    )
    if plain:
        return text
    return " ".join(_q_words(text))


def encode_phrase(text: str) -> str:
    """A display name: an atom sequence, a quoted string, or encoded words (RFC 5322 / 2047)."""
    check_header_value("display name", text)
    if not text:
        return ""
    if _ATOM_PHRASE.fullmatch(text) and "=?" not in text and text.strip() == text:
        return text
    if _PRINTABLE.fullmatch(text) and "=?" not in text and len(text) <= MAX_LINE - 20:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return " ".join(_q_words(text))


def check_address(name: str, addr: str) -> str:
    """An addr-spec without spaces, brackets or line breaks; anything else is refused."""
    check_header_value(name, addr)
    if not _ADDR.fullmatch(addr):
        raise HeaderInjectionError(f"header {name}: {addr!r} is not a plain e-mail address")
    return addr


def ascii_address(what: str, addr: str) -> str:
    """``addr`` as it can go on the wire: an internationalised domain in its IDNA form.

    digestmail sends without SMTPUTF8 (RFC 6531), so a configured ``news@bürger.example``
    becomes ``news@xn--brger-kva.example`` in the envelope and the headers, and an address with
    non-ASCII characters before the ``@`` is refused here, when the config is checked, rather
    than by the relay in the middle of a send.
    """
    if addr.isascii():
        return addr
    from email_validator import EmailNotValidError

    from digestmail.addresses import ascii_email

    try:
        return ascii_email(addr)
    except EmailNotValidError as exc:
        raise HeaderInjectionError(f"{what}: {addr!r} cannot be sent: {exc}") from exc


def format_address(display_name: str, addr: str) -> str:
    """``Name <addr>`` with the name encoded as needed, or the bare address without a name."""
    check_address("address", addr)
    phrase = encode_phrase(display_name.strip())
    return f"{phrase} <{addr}>" if phrase else addr


def parse_address(value: str, *, what: str = "address") -> tuple[str, str]:
    """Split a config value such as ``Tipps <tipps@example.org>`` into (name, addr)."""
    check_header_value(what, value)
    # Outside quotes and the <addr> part, ',' ';' ':' mean a list or a group: parseaddr would
    # silently keep one address or drop the name, so ask for quotes instead.
    unquoted = _QUOTED.sub("", value)
    bare, _, rest = unquoted.partition("<")
    after = rest.partition(">")[2]
    if any(mark in bare for mark in ",;:") or after.strip():
        raise HeaderInjectionError(
            f"{what}: {value!r} must be one address; put a name containing ',', ';' or ':' "
            'in double quotes, e.g. "Netzwerk: Tipps" <tipps@example.org>'
        )
    name, addr = parseaddr(value)
    if not addr or "@" not in addr:
        raise HeaderInjectionError(f"{what}: {value!r} does not contain an e-mail address")
    addr = check_address(what, ascii_address(what, addr))
    return name, addr


def fold(name: str, value: str) -> str:
    """One header field, folded at spaces to at most 78 characters a line, ending in CRLF.

    ``value`` must already be printable ASCII (the output of this module's encoders); a line
    that cannot be broken is left long, which is legal up to 998 octets.
    """
    check_header_value(name, value)
    if not _PRINTABLE.fullmatch(value) or not _PRINTABLE.fullmatch(name) or ":" in name:
        raise HeaderInjectionError(f"header {name}: value is not encoded printable ASCII")
    line = f"{name}: {value}"
    if len(line) <= MAX_LINE:
        return line + "\r\n"
    lines: list[str] = []
    current = f"{name}:"
    for word in value.split(" "):
        if len(current) + 1 + len(word) > MAX_LINE and current != f"{name}:":
            lines.append(current)
            current = ""
        current += " " + word
    lines.append(current)
    return "\r\n".join(lines) + "\r\n"
