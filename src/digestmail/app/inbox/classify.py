"""What kind of message arrived: a bounce (hard, soft, or about the message), an unsubscribe
reply, an auto-reply, or anything else.

Only what the message itself says is used here; which delivery it concerns is :mod:`.match`'s
job. The order of the checks matters: a DSN carries ``Auto-Submitted: auto-replied`` as well,
and a vacation reply often goes to the VERP return path, so a standard report is a bounce
first, and a message marked as automatic is never a bounce unless a report says so.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from email.message import Message
from email.utils import getaddresses, parseaddr

from flufl.bounce import all_failures

from digestmail.app.inbox.reading import (
    bounce_text,
    delivery_reports,
    returned_message_ids,
    status_in_text,
)


class Kind(enum.StrEnum):
    HARD = "hard"
    """The address is dead (5.x.x): suppress it."""
    SOFT = "soft"
    """Try again later (4.x.x, ``Action: delayed``, a full mailbox): count it."""
    ABOUT_MESSAGE = "about-message"
    """Refused for what the message was (5.7.x policy, too large): says nothing of the address."""
    UNSUBSCRIBE = "unsubscribe"
    AUTOREPLY = "autoreply"
    OTHER = "other"


NOT_ABOUT_ADDRESS = ("5.7.", "5.3.4", "5.2.3")
"""5.x.x codes that judge the message, not the mailbox: policy, spam, content (5.7.x) and
size (5.3.4 too big for the system, 5.2.3 over the recipient's limit)."""
SOFT_PERMANENT = ("5.2.2",)
"""A full mailbox is reported as permanent by some servers but is a state of a live address."""

_AUTO_SUBJECT = re.compile(
    r"(?i)\b(out of (the )?office|vacation|abwesen|urlaub|auto(matic|matische)?[ -]?(reply|"
    r"antwort|response)|autoreply|abwesenheitsnotiz|absence|réponse automatique)"
)
_UNSUBSCRIBE_WORDS = re.compile(r"(?i)\b(unsubscribe|abmelden|abmeldung|austragen|remove me)\b")
_TEXT_ADDRESS = re.compile(r"(?m)^\s*<?([^<>\s@:]+@[^<>\s@:]+?)>?:?\s*$|^<([^<>\s@]+@[^<>\s@]+)>:")
"""An address alone on a line (Exim) or ``<address>:`` opening a line (Postfix's notice)."""
_BOUNCE_SENDERS = re.compile(r"(?i)^(mailer-daemon|postmaster|mail-daemon)@")


@dataclass(frozen=True, slots=True)
class Bounce:
    """What a bounce says: about whom (addresses, quoted Message-IDs) and why (status, text)."""

    status: str
    diagnostic: str
    recipients: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Classified:
    kind: Kind
    bounce: Bounce | None = None
    sender: str = ""
    """The From address of an unsubscribe reply."""
    to: tuple[str, ...] = field(default=())
    """Every address the message was sent to (To, Cc, Delivered-To, X-Original-To)."""


def kind_of_status(status: str, action: str = "") -> Kind | None:
    """A DSN status (and action) as a kind; None for a success (2.x.x, ``delivered``)."""
    if action == "delayed" or status.startswith("4."):
        return Kind.SOFT
    if status.startswith("5."):
        if status.startswith(NOT_ABOUT_ADDRESS):
            return Kind.ABOUT_MESSAGE
        return Kind.SOFT if status.startswith(SOFT_PERMANENT) else Kind.HARD
    if action == "failed":
        return Kind.HARD
    return None


def recipients_of(msg: Message) -> tuple[str, ...]:
    """The addresses the message was delivered to, lower-cased, the envelope's first."""
    fields = [
        str(v)
        for name in ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")
        for v in msg.get_all(name, [])
    ]
    return tuple(dict.fromkeys(a.lower() for _, a in getaddresses(fields) if "@" in a))


def is_autoreply(msg: Message) -> bool:
    """RFC 3834 ``Auto-Submitted``, the common ``X-Autoreply`` family, or a vacation subject."""
    auto = str(msg.get("Auto-Submitted", "no")).strip().lower()
    if auto and not auto.startswith("no"):
        return True
    if msg.get("X-Autoreply") or msg.get("X-Autorespond"):
        return True
    if str(msg.get("Precedence", "")).strip().lower() == "auto_reply":
        return True
    return bool(_AUTO_SUBJECT.search(str(msg.get("Subject", ""))))


def _from_dsn(msg: Message, to: tuple[str, ...]) -> Classified | None:
    """A multipart/report with delivery-status blocks: the most severe block decides."""
    reports = delivery_reports(msg)
    if not reports:
        return None
    ids = tuple(returned_message_ids(msg))
    ranked = [(kind_of_status(r.status, r.action), r) for r in reports]
    for wanted in (Kind.HARD, Kind.SOFT, Kind.ABOUT_MESSAGE):
        chosen = [r for k, r in ranked if k is wanted]
        if chosen:
            first = chosen[0]
            bounce = Bounce(
                status=first.status or ("4.0.0" if wanted is Kind.SOFT else "5.0.0"),
                diagnostic=first.diagnostic,
                recipients=tuple(r.recipient for r in chosen if r.recipient),
                message_ids=ids,
            )
            return Classified(wanted, bounce, to=to)
    return Classified(Kind.OTHER, to=to)  # "delivered"/"relayed" reports


def _looks_like_bounce(msg: Message) -> bool:
    sender = parseaddr(str(msg.get("From", "")))[1]
    return bool(_BOUNCE_SENDERS.match(sender)) or msg.get("Return-Path", "").strip() == "<>"


def _from_text(msg: Message, to: tuple[str, ...]) -> Classified | None:
    """A non-standard bounce: flufl.bounce finds the addresses, the text gives the status."""
    temporary, permanent = all_failures(msg)
    if not (temporary or permanent) and not _looks_like_bounce(msg):
        return None
    text = bounce_text(msg)
    status, line = status_in_text(text)
    addresses = tuple(a.decode("utf-8", "replace") for a in sorted(permanent or temporary))
    if not addresses:  # flufl knows no such format: the addresses the notice names
        addresses = tuple(dict.fromkeys(a or b for a, b in _TEXT_ADDRESS.findall(text)))
    kind = kind_of_status(status) if status else None
    if kind is None:
        if not (temporary or permanent):
            return None  # from a daemon, but no failure in it: a notice, not a bounce
        kind = Kind.HARD if permanent else Kind.SOFT
        status = "5.0.0" if permanent else "4.0.0"
    ids = tuple(returned_message_ids(msg))
    return Classified(kind, Bounce(status, line, addresses, ids), to=to)


def classify(msg: Message, *, unsubscribe_addresses: frozenset[str]) -> Classified:
    """What ``msg`` is; ``unsubscribe_addresses`` are the lists' mailto addresses (lower case)."""
    to = recipients_of(msg)  # once: parsing address headers is among the costliest steps here
    dsn = _from_dsn(msg, to)
    if dsn is not None:
        return dsn
    if is_autoreply(msg):
        return Classified(Kind.AUTOREPLY, to=to)
    bounce = _from_text(msg, to)
    if bounce is not None:
        return bounce
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    if sender and unsubscribe_addresses.intersection(to):
        return Classified(Kind.UNSUBSCRIBE, sender=sender, to=to)
    return Classified(Kind.OTHER, sender=sender, to=to)


def asks_to_unsubscribe(msg: Message) -> bool:
    """A reply to a list's ``from`` (no mailto of its own) must *say* so: subject or first line."""
    subject = str(msg.get("Subject", ""))
    first = bounce_text(msg)[:200]
    return bool(_UNSUBSCRIBE_WORDS.search(subject) or _UNSUBSCRIBE_WORDS.search(first))
