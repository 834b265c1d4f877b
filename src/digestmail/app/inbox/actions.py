"""What the inbox does about a message: suppress, count a soft bounce, confirm an unsubscribe.

Every write is idempotent on its own (a suppression keeps its first time, a bounce row is keyed
by message, list and address), so a message handled again after a crash changes nothing. The
confirmation mails are collected and sent at the end of the run through the list's transport,
in one connection; one that cannot be sent is logged, never fatal: the suppression stands.
"""

from __future__ import annotations

import logging
from collections import Counter

from digestmail.app.inbox.classify import Bounce, Kind
from digestmail.app.inbox.match import Target
from digestmail.config import Config
from digestmail.deliver.send import make_transport
from digestmail.deliver.transports.smtp import envelope_sender
from digestmail.errors import DigestmailError
from digestmail.ledger.audience import SuppressionSource
from digestmail.ledger.inbox import BounceRow
from digestmail.ledger.store import Ledger
from digestmail.message.signup import ConfirmationText, confirmation_message
from digestmail.models import OutgoingMessage

log = logging.getLogger("digestmail.inbox")

_CONFIRMATIONS = {
    "de": ConfirmationText(
        subject="Abmeldung bestätigt",
        body="Sie sind von „{list}“ abgemeldet und erhalten diesen Newsletter nicht mehr.\n",
    ),
    "en": ConfirmationText(
        subject="Unsubscribed",
        body='You have been unsubscribed from "{list}" and will get no more issues.\n',
    ),
}


def masked(email: str) -> str:
    """``a***@example.org``: enough for an operator to tell rows apart, not a reader's address."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}***@{domain}"


class Actions:
    def __init__(
        self, config: Config, ledger: Ledger, *, report: Counter[str], dry_run: bool
    ) -> None:
        self._config = config
        self._ledger = ledger
        self._report = report
        self._dry_run = dry_run
        self._outgoing: list[tuple[str, OutgoingMessage]] = []
        self._bounces: list[BounceRow] = []
        """Bounce rows of the message being handled, written with its ``remember``."""

    def take_bounces(self) -> list[BounceRow]:
        """The bounce rows of the message just handled (and forget them)."""
        rows, self._bounces = self._bounces, []
        return rows

    def _suppress(self, email: str, list_key: str, reason: str, source: SuppressionSource) -> None:
        self._report[source] += 1
        log.info("inbox: suppress %s on %s (%s)", masked(email), list_key, source)
        if not self._dry_run:
            self._ledger.suppress(email, list_key=list_key, reason=reason, source=source)

    def bounce(self, key: str, target: Target, kind: Kind, bounce: Bounce, limit: int) -> None:
        """A hard bounce suppresses; a soft one counts, and ``limit`` issues' worth suppress.

        The bounce row is written with the message's ``remember`` (one commit); a suppression
        is written at once, before it, so a crash in between leaves the message to be handled
        again, never a bounce counted without its suppression.
        """
        text = f"{bounce.status} {bounce.diagnostic}".strip()
        if not self._dry_run:
            row = BounceRow(
                key,
                target.list_key,
                target.issue_id,
                target.email,
                bounce.status,
                kind is Kind.HARD,
                bounce.diagnostic,
            )
            self._bounces.append(row)
        if kind is Kind.HARD:
            self._suppress(target.email, target.list_key, f"bounce {text}", "bounce")
            return
        pending = [target.issue_id] if not self._dry_run else []
        issues = self._ledger.inbox.soft_issues(target.list_key, target.email, pending=pending)
        if issues >= limit:
            reason = f"{issues} soft bounces in distinct issues, last: {text}"
            self._suppress(target.email, target.list_key, reason, "bounce")

    def unsubscribe(self, list_key: str, email: str) -> None:
        list_cfg = self._config.get_list(list_key)
        self._suppress(email, list_key, "unsubscribe reply (mailto)", "reply")
        if self._dry_run:
            return
        language = (list_cfg.language or self._config.site.language)[:2]
        words = _CONFIRMATIONS.get(language, _CONFIRMATIONS["en"])
        text = ConfirmationText(words.subject, words.body.format(list=list_cfg.name))
        message = confirmation_message(from_addr=list_cfg.from_addr, to=email, text=text)
        self._outgoing.append((envelope_sender(list_cfg.from_addr), message))

    async def flush(self) -> None:
        """Send the collected confirmations through the transport, one connection."""
        outgoing, self._outgoing = self._outgoing, []
        if not outgoing:
            return
        try:
            connection = await make_transport(self._config).connect()
        except DigestmailError as exc:
            log.warning("inbox: %d confirmation(s) not sent: %s", len(outgoing), exc)
            return
        try:
            for sender, message in outgoing:
                try:
                    await connection.send(sender, message)
                except DigestmailError as exc:
                    log.warning(
                        "inbox: confirmation to %s not sent: %s", masked(message.email), exc
                    )
        finally:
            await connection.close()
