"""Which addresses a subscriber file has already had, in little memory."""

from __future__ import annotations

import hashlib
from array import array


class SeenAddresses:
    """Remembers addresses (case-insensitively) and the line each was first seen on.

    An open-addressing hash table over two flat arrays: 8-byte blake2b digests and 4-byte line
    numbers. A million addresses take 2**21 slots * 12 bytes = 24 MB, against well over 100 MB
    for a set of strings. Two different addresses share a digest with a probability of about
    n**2 / 2**65 (3e-8 for a million); the later one would then be reported as a duplicate.
    """

    def __init__(self) -> None:
        self._digests = array("Q", [0]) * 1024
        self._lines = array("I", [0]) * 1024
        self._used = 0

    @staticmethod
    def _digest(address: str) -> int:
        raw = hashlib.blake2b(address.casefold().encode("utf-8"), digest_size=8).digest()
        return int.from_bytes(raw, "little") or 1  # 0 marks an empty slot

    def add(self, address: str, line: int) -> int | None:
        """Remember ``address``; return the line it was first seen on if it was seen before."""
        digest = self._digest(address)
        found = self._find(digest)
        if self._digests[found] == digest:
            return self._lines[found]
        self._digests[found] = digest
        self._lines[found] = line
        self._used += 1
        if self._used * 2 > len(self._digests):
            self._grow()
        return None

    def _find(self, digest: int) -> int:
        digests = self._digests
        mask = len(digests) - 1
        slot = digest & mask
        while True:
            value = digests[slot]
            if value == 0 or value == digest:
                return slot
            slot = (slot + 1) & mask

    def _grow(self) -> None:
        old_digests, old_lines = self._digests, self._lines
        size = len(old_digests) * 2
        self._digests = array("Q", [0]) * size
        self._lines = array("I", [0]) * size
        for digest, line in zip(old_digests, old_lines, strict=True):
            if digest:
                slot = self._find(digest)
                self._digests[slot] = digest
                self._lines[slot] = line
