"""DKIM for spliced messages: canonicalise and hash the constant parts once per issue.

The reference path (:meth:`.dkim.DkimSigner.prepare`) parses each finished message and runs
two regular expressions over its whole body: about 1.5 ms for a 30 KB digest, three times the
RSA signature itself. But the factory already knows which bytes are the same for every
recipient. A :class:`SigningTemplate` is built once per issue from those pieces:

- **Body.** Relaxed body canonicalisation (RFC 6376 3.4.4) works line by line, and every piece
  the factory splices starts at the beginning of a line and ends with CRLF (see
  :mod:`.quoted_printable`), so the canonical body is the concatenation of the canonical
  pieces. The constant pieces are canonicalised once; per recipient only the spliced values
  are, and the SHA-256 continues from a copy of the state over the constant prefix.
- **Headers.** The constant headers are canonicalised once, in ``h=`` order; per recipient the
  factory hands over its few header lines (Date, To, Message-ID, List-Unsubscribe) instead of
  having them found again in the bytes, and they are unfolded without a regular expression.

Whatever does not fit these rules (a piece that does not end a line, a body whose end is made
of empty lines) takes the reference path instead, for that message or for the whole template:
slower, never different. The tests hold both paths to byte-identical signatures.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from digestmail.message.dkim import (
    DkimSigner,
    Unsigned,
    relaxed_body,
    relaxed_header,
    split_message,
)

_CRLF = b"\r\n"


def relaxed_lines(chunk: bytes) -> bytes:
    """Relaxed canonical form of whole lines (``chunk`` ends with CRLF or is empty).

    Like :func:`.dkim.relaxed_body` but without removing empty lines at the end: the chunk is
    not the end of the body. Most pieces need no change, which three substring tests show
    faster than a regular expression could.
    """
    if b"\t" in chunk or b"  " in chunk or b" \r\n" in chunk:
        # Appending CRLF only to a chunk without one keeps relaxed_body from stripping lines.
        return relaxed_body(chunk + b"x")[:-3] if chunk else chunk
    return chunk


def relaxed_line(line: bytes) -> bytes:
    """One header line (``Name: value`` with its folding and final CRLF), canonical.

    ``bytes.split()`` unfolds and collapses in one C call; it treats VT, FF and a CR or LF
    that is not part of a fold as whitespace too, where RFC 6376 does not, so such a line takes
    :func:`.dkim.relaxed_header`.
    """
    name, _, value = line.partition(b":")
    if value.endswith(_CRLF):
        value = value[:-2]
    unfolded = value.replace(b"\r\n ", b" ").replace(b"\r\n\t", b"\t")
    if b"\r" in unfolded or b"\n" in unfolded or b"\x0b" in unfolded or b"\x0c" in unfolded:
        return relaxed_header(name, value)
    return name.strip(b" \t").lower() + b":" + b" ".join(unfolded.split()) + _CRLF


class SigningTemplate:
    """One issue's DKIM work that is the same for every recipient, done once.

    ``head`` is the block of constant header lines; ``variable`` names, in order, the header
    lines each recipient's message adds (the factory passes them to :meth:`prepare`);
    ``body`` is the body's constant pieces, between which each recipient's values go.
    """

    def __init__(
        self,
        signer: DkimSigner,
        *,
        head: bytes,
        variable: Sequence[str],
        body: Sequence[bytes],
    ) -> None:
        self.signer = signer
        fields, _ = split_message(head + b"\r\n")
        fields = [f for f in fields if f[0]]
        fields += [(name.encode("ascii"), b"") for name in variable]
        names = signer.names_for(fields)
        self._names = ":".join(names)
        self._plan = _header_plan(names, fields, head, variable)
        self._holes = len(body) - 1
        self._body = _body_pieces(body)
        self._start = hashlib.sha256(self._body[0]) if self._body else None
        self._recent = [(b"", b"")] * len(variable)
        """Per variable line, the last one seen and its canonical form: Date changes once a
        second, not per recipient."""

    @property
    def usable(self) -> bool:
        """False when the pieces break the template's rules: every message takes the
        reference path then."""
        return self._plan is not None and self._start is not None

    def prepare(self, data: bytes, lines: Sequence[bytes], values: Sequence[bytes]) -> Unsigned:
        """What each key signs for one recipient's ``data``.

        ``lines`` are the recipient's header lines in the order of ``variable``; ``values``
        the bytes spliced between the body pieces, in order; ``data`` all of it joined.
        """
        plan, start = self._plan, self._start
        if plan is None or start is None or len(values) != self._holes:
            return self.signer.prepare(data)
        digest = start.copy()
        update = digest.update
        for value, piece in zip(values, self._body[1:], strict=True):
            if value and not value.endswith(_CRLF):
                return self.signer.prepare(data)  # not whole lines: the reference decides
            update(relaxed_lines(value))
            update(piece)
        header = [
            part if isinstance(part, bytes) else self._canonical(lines, part) for part in plan
        ]
        return self.signer.unsigned(data, b"".join(header), self._names, digest.digest())

    def _canonical(self, lines: Sequence[bytes], index: int) -> bytes:
        line = lines[index]
        last, canonical = self._recent[index]
        if line != last:
            canonical = relaxed_line(line)
            self._recent[index] = (line, canonical)
        return canonical


def _body_pieces(body: Sequence[bytes]) -> list[bytes]:
    """The canonical constant pieces; empty when one of them breaks the rules.

    Every piece must be whole lines. The last one must keep a line of text after
    canonicalisation: then the empty lines it ends with are all the body ends with, and
    :func:`.dkim.relaxed_body` of it alone is the end of the canonical body.
    """
    if not body or any(piece and not piece.endswith(_CRLF) for piece in body):
        return []
    last = relaxed_body(body[-1])
    if not last:
        return []
    return [relaxed_lines(piece) for piece in body[:-1]] + [last]


def _header_plan(
    names: list[str], fields: list[tuple[bytes, bytes]], head: bytes, variable: Sequence[str]
) -> list[bytes | int] | None:
    """The canonical header data as constant bytes and indexes into the recipient's lines.

    Each name in ``h=`` takes the next instance of its header from the bottom up; with every
    header present once, that is its one instance, and an over-signed name adds nothing. A
    header that occurs twice takes the reference path (None).
    """
    keys = [name.strip(b" \t").lower() for name, _ in fields]
    if len(set(keys)) != len(keys):
        return None
    constant = {}
    for name, value in split_message(head + b"\r\n")[0]:
        if name:
            constant[name.strip(b" \t").lower()] = relaxed_header(name, value)
    index = {name.lower().encode("ascii"): i for i, name in enumerate(variable)}
    plan: list[bytes | int] = []
    used: set[bytes] = set()
    for wanted in names:
        key = wanted.encode("ascii")
        if key in used:
            continue
        used.add(key)
        if key in constant:
            plan.append(constant[key])
        elif key in index:
            plan.append(index[key])
    merged: list[bytes | int] = []
    for part in plan:
        if isinstance(part, bytes) and merged and isinstance(merged[-1], bytes):
            merged[-1] += part
        else:
            merged.append(part)
    return merged
