"""What a returned message says: RFC 3464 fields, the Message-IDs it quotes, status codes.

``flufl.bounce`` (Mailman's detectors) finds *which addresses* failed in dozens of formats but
not *why*; the status code decides between "this address is dead" and "try again later", so it
is read here: from ``message/delivery-status`` when there is one, else from the text of the
bounce (Exim, old Postfix, qmail, Exchange all quote the remote server's reply). Nothing here
knows the ledger or the config.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message

_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_REPLY = re.compile(r"(?m)(?:^|[\s:(])([45])\d\d[ -](?!\d)")
_MESSAGE_ID = re.compile(r"(?im)^\s*message-id:\s*(<[^<>\s]+>)")
_TEXT_LIMIT = 20_000
"""Characters of a bounce's text searched for codes: the diagnosis comes first, never after."""

RETURNED_TYPES = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")


@dataclass(frozen=True, slots=True)
class RecipientReport:
    """One per-recipient block of a ``message/delivery-status`` part."""

    recipient: str
    """The Final-Recipient (else Original-Recipient) address, or ``""`` when the DSN hides it."""
    action: str
    status: str
    diagnostic: str


def _address(value: str | None) -> str:
    """``rfc822; bob@example.net`` -> ``bob@example.net`` (other address types: ``""``)."""
    if not value:
        return ""
    kind, sep, address = str(value).partition(";")
    if not sep:
        address, kind = kind, "rfc822"
    if kind.strip().lower() != "rfc822":
        return ""
    return address.strip().strip("<>").strip()


def delivery_reports(msg: Message) -> list[RecipientReport]:
    """Every per-recipient block of every ``message/delivery-status`` part (RFC 3464)."""
    out: list[RecipientReport] = []
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks[1:]:  # the first block is per message
            if not isinstance(block, Message):
                continue
            recipient = _address(block.get("Final-Recipient")) or _address(
                block.get("Original-Recipient")
            )
            status = _ENHANCED.search(str(block.get("Status", "")))
            out.append(
                RecipientReport(
                    recipient=recipient,
                    action=str(block.get("Action", "")).strip().lower(),
                    status=".".join(status.groups()) if status else "",
                    diagnostic=" ".join(str(block.get("Diagnostic-Code", "")).split()),
                )
            )
    return out


def _text_parts(msg: Message) -> Iterator[str]:
    """The bounce's own text parts, never those of the returned message inside it."""
    if msg.get_content_type() in RETURNED_TYPES:
        return
    if msg.is_multipart():
        for part in msg.get_payload():
            if isinstance(part, Message):
                yield from _text_parts(part)
        return
    if msg.get_content_maintype() == "text":
        payload = msg.get_payload(decode=True)
        if isinstance(payload, bytes):
            yield payload.decode(msg.get_content_charset() or "utf-8", "replace")


def bounce_text(msg: Message) -> str:
    """The human-readable text of the bounce (the first :data:`_TEXT_LIMIT` characters)."""
    return "\n".join(_text_parts(msg))[:_TEXT_LIMIT]


def status_in_text(text: str) -> tuple[str, str]:
    """(status, the line it was found on) from a non-standard bounce's text, or ("", "").

    An enhanced code (``5.1.1``) wins; a bare SMTP reply code (``550 ...``) is read as
    ``5.0.0`` / ``4.0.0``: class known, detail not.
    """
    found = _ENHANCED.search(text)
    if found is not None:
        return ".".join(found.groups()), _line_of(text, found.start())
    reply = _SMTP_REPLY.search(text)
    if reply is not None:
        return f"{reply.group(1)}.0.0", _line_of(text, reply.start(1))
    return "", ""


def _line_of(text: str, at: int) -> str:
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    return " ".join(text[start : end if end >= 0 else len(text)].split())[:500]


def returned_message_ids(msg: Message) -> list[str]:
    """The Message-IDs of the returned message: its headers inside, else quoted in the text."""
    ids: list[str] = []
    for part in msg.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                value = inner[0].get("Message-ID")
                if value:
                    ids.append(str(value).strip())
        elif kind in ("text/rfc822-headers", "message/rfc822-headers"):
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                ids += _MESSAGE_ID.findall(payload.decode("utf-8", "replace"))
    if not ids:
        ids = _MESSAGE_ID.findall("\n".join(_quoted_text(msg)))
    return list(dict.fromkeys(ids))


def _quoted_text(msg: Message) -> Iterator[str]:
    """Text parts *without* skipping returned messages: an inline-quoted original's headers."""
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                yield payload.decode(part.get_content_charset() or "utf-8", "replace")
