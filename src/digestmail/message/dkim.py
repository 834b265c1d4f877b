"""DKIM signatures (RFC 6376, relaxed/relaxed) on the wire bytes the factory splices.

The canonicalisation is written here, faithfully to RFC 6376 section 3.4.2 and 3.4.4, because
it runs for every recipient; the tests prove every signature with dkimpy's ``verify``. The
signature itself is made by ``cryptography`` (OpenSSL): about 0.5 ms for RSA-2048, where
dkimpy's pure-Python RSA takes about 13 ms. Ed25519 follows RFC 8463: the key signs the
SHA-256 hash of the header data.

The signed headers are those of RFC 8058 section 4 and more: both ``List-Unsubscribe`` headers
are covered, so mailbox providers show their one-click button, and ``From`` and ``Subject``
are signed once more than they occur, so a copy added later breaks the signature.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

SIGNED_HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "reply-to",
    "list-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
)
OVERSIGNED = ("from", "subject")
"""Signed once more than present: a second From or Subject added in transit fails the check."""

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

_WSP_RUN = re.compile(rb"[ \t]{2,}|\t")  # a lone space stays: no match, no copy
_TRAILING_WSP = re.compile(rb"[ \t]+\r\n")
_FOLD = re.compile(rb"\r\n(?=[ \t])")


def relaxed_header(name: bytes, value: bytes) -> bytes:
    """RFC 6376 3.4.2: lower-case name, unfolded value, whitespace runs as one space."""
    value = _WSP_RUN.sub(b" ", _FOLD.sub(b"", value)).strip(b" \t\r\n")
    return name.strip(b" \t").lower() + b":" + value + b"\r\n"


def relaxed_body(body: bytes) -> bytes:
    """RFC 6376 3.4.4: no trailing whitespace, runs as one space, no empty lines at the end."""
    if b"\t" in body or b"  " in body or b" \r\n" in body:
        body = _WSP_RUN.sub(b" ", _TRAILING_WSP.sub(b"\r\n", body))
        if body.endswith(b" "):
            body = body.rstrip(b" ")
    body = body.rstrip(b"\r\n")
    return body + b"\r\n" if body else b""


def split_message(data: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The header fields as (name, value with its folding) in order, and the body."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, body = data, b""
    fields: list[tuple[bytes, bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and fields:
            name, value = fields[-1]
            fields[-1] = (name, value + b"\r\n" + line)
        else:
            name, _, value = line.partition(b":")
            fields.append((name, value))
    return fields, body


def _header_data(fields: list[tuple[bytes, bytes]], names: Sequence[str]) -> bytes:
    """The canonical signed headers in ``h=`` order, each instance taken from the bottom up."""
    by_name: dict[bytes, list[bytes]] = {}
    for name, value in fields:
        by_name.setdefault(name.strip().lower(), []).append(value)
    out = []
    for wanted in names:
        key = wanted.encode("ascii")
        stack = by_name.get(key)
        if stack:
            out.append(relaxed_header(key, stack.pop()))
    return b"".join(out)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One signature to add: the algorithm, its selector and its private key."""

    algorithm: str
    selector: str
    key: PrivateKey


@dataclass(frozen=True, slots=True)
class Unsigned:
    """A message's bytes and, per key, what that key must sign: signing is the last step.

    Kept apart so the expensive private-key operation can run elsewhere (a process pool for a
    large send, see :mod:`.dkim_pool`) while everything else happens where the message is built.
    """

    data: bytes
    """The message without its DKIM-Signature headers."""
    tags: tuple[bytes, ...]
    """Per key, the DKIM-Signature value up to and including ``b=``."""
    inputs: tuple[bytes, ...]
    """Per key, the canonical signed header data, the signature header's own included."""

    def finish(self, signatures: Sequence[bytes]) -> bytes:
        """The signed message: one DKIM-Signature per key in front of the data."""
        out = [
            b"DKIM-Signature: " + tags + base64.b64encode(raw) + b"\r\n"
            for tags, raw in zip(self.tags, signatures, strict=True)
        ]
        out.append(self.data)
        return b"".join(out)


class DkimSigner:
    """Adds one DKIM-Signature per key to a message's bytes; build once per send.

    :meth:`sign` is the straightforward reference path: it parses the finished bytes and
    canonicalises all of them. The factory uses :class:`.dkim_template.SigningTemplate`, which
    canonicalises the constant parts once per issue; the tests hold both to identical bytes.
    """

    def __init__(
        self,
        domain: str,
        keys: Sequence[SigningKey],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.domain = domain
        self.keys = tuple(keys)
        self.clock = clock
        """The ``t=`` of each signature; a test fixes it to compare two paths byte for byte."""
        self._tag_cache: tuple[tuple[int, str], list[tuple[bytes, bytes]]] = ((-1, ""), [])

    def names_for(self, fields: list[tuple[bytes, bytes]]) -> list[str]:
        """``h=``: every listed header present (and the one-click ones always), plus oversigning."""
        present = {name.strip().lower().decode("ascii", "replace") for name, _ in fields}
        names: list[str] = []
        for name in SIGNED_HEADERS:
            count = sum(1 for n, _ in fields if n.strip().lower() == name.encode())
            if name in present or name.startswith("list-unsubscribe"):
                names += [name] * max(count, 1)
            if name in OVERSIGNED:
                names.append(name)
        return names

    def prepare(self, data: bytes) -> Unsigned:
        """The reference path: parse ``data``, canonicalise all of it, hash, lay out the tags."""
        fields, body = split_message(data)
        body_hash = hashlib.sha256(relaxed_body(body)).digest()
        names = self.names_for(fields)
        return self.unsigned(data, _header_data(fields, names), ":".join(names), body_hash)

    def unsigned(self, data: bytes, header_data: bytes, names: str, body_hash: bytes) -> Unsigned:
        """What each key signs, from the canonical header data and the body's hash."""
        bh = base64.b64encode(body_hash)
        heads = self.tag_heads(int(self.clock()), names)
        tags = tuple(raw + bh + b";\r\n\tb=" for raw, _ in heads)
        inputs = tuple(header_data + canonical + bh + b"; b=" for _, canonical in heads)
        return Unsigned(data, tags, inputs)

    def tag_heads(self, stamp: int, names: str) -> list[tuple[bytes, bytes]]:
        """Per key, the DKIM-Signature value up to ``bh=``, raw and canonical.

        The same for every message of a second, so made once a second: what follows (the body
        hash in base64, ``;``, a fold and ``b=``) has no whitespace of its own to canonicalise,
        so the canonical value is the canonical head, the hash and ``; b=``.
        """
        if self._tag_cache[0] == (stamp, names):
            return self._tag_cache[1]
        heads = []
        for key in self.keys:
            raw = (
                f"v=1; a={key.algorithm}; c=relaxed/relaxed; d={self.domain};\r\n"
                f"\ts={key.selector}; t={stamp};\r\n"
                f"\th={names};\r\n"
                "\tbh="
            ).encode("ascii")
            heads.append((raw, relaxed_header(b"DKIM-Signature", raw)[:-2]))
        self._tag_cache = ((stamp, names), heads)
        return heads

    def signatures(self, unsigned: Unsigned) -> list[bytes]:
        """Each key's signature over its input, made here (the pool makes them elsewhere)."""
        return [sign_input(k.key, data) for k, data in zip(self.keys, unsigned.inputs, strict=True)]

    def sign(self, data: bytes) -> bytes:
        """``data`` with the DKIM-Signature headers in front."""
        unsigned = self.prepare(data)
        return unsigned.finish(self.signatures(unsigned))


def sign_input(key: PrivateKey, data: bytes) -> bytes:
    """The raw signature over one key's input: RSA PKCS#1 v1.5 with SHA-256, or RFC 8463."""
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(hashlib.sha256(data).digest())  # RFC 8463: Ed25519 over the SHA-256 hash
