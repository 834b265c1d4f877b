"""Double opt-in: the signed, expiring confirmation token and the mail that carries it.

The token holds the whole request (address, lists, name, when it was made), signed with
``$DIGESTMAIL_SECRET``, so nothing is stored for an unconfirmed sign-up: a form filled in with
someone else's address leaves no personal data behind, only a mail they can ignore. Unlike an
unsubscribe token it grants something (mail to the address), so it expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, make_msgid

from digestmail.message.headers import encode_word, fold, format_address, parse_address
from digestmail.message.quoted_printable import encode_qp
from digestmail.models import OutgoingMessage

_MAC_BYTES = 16
_CLOCK_SKEW = timedelta(minutes=5)
"""A token from a few minutes in the future is still taken (clocks of two hosts differ)."""


@dataclass(frozen=True, slots=True)
class SignUp:
    """What a reader asked for on the sign-up form."""

    email: str
    lists: tuple[str, ...]
    name: str
    requested_at: datetime
    """Kept to the millisecond: an unsubscribe made after the request must stay later than it."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> bytes:
    msg = f"confirm\0{payload}".encode("ascii")
    return hmac.new(secret.encode("utf-8"), msg, hashlib.sha256).digest()[:_MAC_BYTES]


def confirm_token(secret: str, request: SignUp) -> str:
    """The request as URL-safe JSON plus an HMAC over it; the purpose is part of the MAC, so an
    unsubscribe token can never pass as a confirmation or the other way round."""
    data = {
        "e": request.email,
        "l": list(request.lists),
        "n": request.name,
        "t": int(request.requested_at.timestamp() * 1000),
    }
    payload = _b64(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return f"{payload}.{_b64(_mac(secret, payload))}"


def verify_confirm_token(
    secret: str, token: str, *, valid_for: timedelta, now: datetime | None = None
) -> SignUp | None:
    """The request of a genuine, unexpired token; None for a forged, damaged or old one."""
    try:
        payload, mac_part = token.split(".", 1)
        payload.encode("ascii")
        mac = _unb64(mac_part)
    except (ValueError, UnicodeError):
        return None
    if not hmac.compare_digest(mac, _mac(secret, payload)):
        return None
    try:
        data = json.loads(_unb64(payload))
        request = SignUp(
            email=str(data["e"]),
            lists=tuple(str(x) for x in data["l"]),
            name=str(data["n"]),
            requested_at=datetime.fromtimestamp(int(data["t"]) / 1000, UTC),
        )
    except (ValueError, KeyError, TypeError):
        return None
    moment = now or datetime.now(UTC)
    if not request.requested_at - _CLOCK_SKEW <= moment <= request.requested_at + valid_for:
        return None
    return request


@dataclass(frozen=True, slots=True)
class ConfirmationText:
    """The words of one confirmation mail, already in the site's language."""

    subject: str
    body: str


def confirmation_message(
    *, from_addr: str, to: str, text: ConfirmationText, now: datetime | None = None
) -> OutgoingMessage:
    """A plain-text mail with the confirmation link, wire-ready for any transport.

    Built with the digest's own header and quoted-printable writers, so it keeps the same
    promises (CRLF, short lines, no CR/LF injected from the form's fields).
    """
    from_name, sender = parse_address(from_addr, what="from")
    domain = sender.rsplit("@", 1)[1]
    message_id = make_msgid(idstring="confirm", domain=domain)
    moment = now or datetime.now(UTC)
    head = "".join(
        [
            f"Date: {format_datetime(moment)}\r\n",
            fold("From", format_address(from_name, sender)),
            fold("To", format_address("", to)),
            fold("Subject", encode_word(text.subject)),
            f"Message-ID: {message_id}\r\n",
            "Auto-Submitted: auto-generated\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
        ]
    ).encode("ascii")
    body = encode_qp(text.body.replace("\r\n", "\n"))
    return OutgoingMessage(email=to, message_id=message_id, data=head + body)
