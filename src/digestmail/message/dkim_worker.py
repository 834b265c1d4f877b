"""One DKIM signing process (``python -m digestmail.message.dkim_worker FD``), for the pool.

Started by :class:`~.dkim_pool.SigningPool` with one end of a socket pair as ``FD``. The first
message on it is the list of keys (PKCS#8 DER), so a key is never on a command line, in the
environment or in a file; then each message is a batch of signing inputs and each answer the
batch's signatures. The process ends when the sending process closes its end.

Kept to this one job and few imports: it starts in about 0.05 s of CPU, where a
``multiprocessing`` "spawn" child first re-imports the parent's main module (the whole CLI).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection

from cryptography.hazmat.primitives import serialization

from digestmail.message.dkim import PrivateKey, sign_input

READY = "ready"


def load_keys(ders: Sequence[bytes]) -> list[PrivateKey]:
    keys: list[PrivateKey] = []
    for der in ders:
        # Checked when the sending process read it; checking RSA again costs about 0.1 s.
        key = serialization.load_der_private_key(
            der, password=None, unsafe_skip_rsa_key_validation=True
        )
        if not isinstance(key, PrivateKey):
            raise TypeError(f"not a DKIM key: {type(key).__name__}")
        keys.append(key)
    return keys


def serve(conn: Connection) -> None:
    """Load the keys, then sign batches until the other end hangs up."""
    try:
        keys = load_keys(conn.recv())
        conn.send(READY)
        while True:
            batch: Sequence[tuple[bytes, ...]] = conn.recv()
            conn.send([tuple(map(sign_input, keys, inputs)) for inputs in batch])
    except (EOFError, OSError):
        return


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
