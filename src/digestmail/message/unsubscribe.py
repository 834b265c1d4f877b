"""Unsubscribe tokens: a reader's address, signed, so one click proves who asked.

Each token carries the address and an HMAC over list and address, so an endpoint needs only the
secret (from the environment, never the config) to learn the address and trust it, and a token
for one list cannot unsubscribe anyone from another.
"""

from __future__ import annotations

import base64
import hmac
import os

SECRET_ENV = "DIGESTMAIL_SECRET"


_TOKEN_BYTES = 16


def secret_from_env() -> str | None:
    """``$DIGESTMAIL_SECRET``, or None when unset or empty: secrets live only in the environment."""
    return os.environ.get(SECRET_ENV) or None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, list_key: str, email: str) -> bytes:
    msg = f"unsubscribe\0{list_key}\0{email}".encode()
    # hmac.digest: OpenSSL's one-shot HMAC, without the HMAC object (once per recipient).
    return hmac.digest(secret.encode("utf-8"), msg, "sha256")[:_TOKEN_BYTES]


def unsubscribe_token(secret: str, list_key: str, email: str) -> str:
    """A self-contained token: the address and an HMAC over list and address, URL-safe.

    An unsubscribe endpoint needs only the secret to learn *and* trust the address, and a
    token for one list cannot unsubscribe anyone from another. URL-safe base64 and a dot:
    every character is unreserved in a URL, so it goes into one unquoted.
    """
    return f"{_b64(email.encode('utf-8'))}.{_b64(_mac(secret, list_key, email))}"


def verify_unsubscribe_token(secret: str, list_key: str, token: str) -> str | None:
    """The address a genuine token was made for, or None for a forged or damaged token."""
    try:
        addr_part, mac_part = token.split(".", 1)
        email = _unb64(addr_part).decode("utf-8")
        mac = _unb64(mac_part)
    except (ValueError, UnicodeDecodeError):
        return None
    return email if hmac.compare_digest(mac, _mac(secret, list_key, email)) else None
