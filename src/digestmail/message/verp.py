"""VERP return paths: ``bounces+<token>@example.org``, one per list message.

A bounce goes back to the envelope sender, and many bounces hide or garble the address that
failed (a forwarder's DSN names the forwarding target; some servers quote nothing). A return
path that differs per recipient and issue names the delivery whatever the bounce says. The
token is a truncated HMAC over list, issue and address, so it says nothing about the reader to
anyone who sees it, and a stranger cannot make a bounce that suppresses somebody: only a token
the ledger can reproduce from one of its own deliveries counts (``app/inbox/match.py``).

Lower-case base32 because mail servers and mailbox providers may change the case of a local
part; 16 characters keep ``bounces+<token>`` far below the 64-octet limit of a local part.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_TOKEN_BYTES = 10


def verp_token(secret: str, *, list_key: str, issue_id: str, email: str) -> str:
    """The token of one delivery: 16 lower-case base32 characters, one HMAC (cheap per message)."""
    msg = f"verp\0{list_key}\0{issue_id}\0{email}".encode()
    mac = hmac.new(secret.encode("utf-8"), msg, hashlib.sha256).digest()[:_TOKEN_BYTES]
    return base64.b32encode(mac).decode("ascii").lower()


def verp_address(bounce_address: str, token: str) -> str:
    """``bounces@example.org`` + token -> ``bounces+token@example.org``."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{token}@{domain}"


def token_of(bounce_address: str, address: str) -> str | None:
    """The token in ``address`` when it is a VERP form of ``bounce_address``, else None.

    Compared without case: the local part may have been changed on the way back.
    """
    local, _, domain = bounce_address.lower().rpartition("@")
    a_local, at, a_domain = address.strip().strip("<>").lower().rpartition("@")
    if not at or a_domain != domain or not a_local.startswith(local + "+"):
        return None
    token = a_local[len(local) + 1 :]
    return token if len(token) == 16 and token.isalnum() else None
