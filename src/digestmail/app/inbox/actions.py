"""What the inbox does about a message: suppress, count a soft bounce, confirm an unsubscribe.

Nothing is written at once: a message's suppressions and bounce rows are staged while it is
handled, kept in the run's :class:`~digestmail.ledger.inbox.InboxBatch` when it was handled to
the end (:meth:`Actions.keep`), dropped when it turned out malformed (:meth:`Actions.drop`),
and the batch is committed by :mod:`.process` for many messages at once. Every write is
idempotent (a suppression keeps its first time, a bounce row is keyed by message, list and
address), so a message handled again after a crash changes nothing. The confirmation mails of
a batch are sent after its commit through the list's transport, over one connection kept for
the run; one that cannot be sent is logged, never fatal: the suppression stands.
"""

from __future__ import annotations

import logging
from collections import Counter

from digestmail.app.inbox.classify import Bounce, Kind
from digestmail.app.inbox.match import Target
from digestmail.config import Config
from digestmail.deliver.send import make_transport
from digestmail.deliver.transports.base import Connection
from digestmail.deliver.transports.smtp import envelope_sender
from digestmail.errors import DigestmailError
from digestmail.ledger.audience import NewSuppression, SuppressionSource
from digestmail.ledger.inbox import BounceRow, InboxBatch
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
        self.batch = InboxBatch()
        """What the messages kept since the last commit want written; :mod:`.process` commits it."""
        self._staged = InboxBatch()
        """The writes of the message being handled, until :meth:`keep` or :meth:`drop`."""
        self._staged_mail: list[tuple[str, OutgoingMessage]] = []
        self._outgoing: list[tuple[str, OutgoingMessage]] = []
        self._connection: Connection | None = None
        self._unreachable = False

    def keep(self, key: str, outcome: str) -> None:
        """The message ``key`` is handled: its writes join the batch, counted in the report."""
        staged = self._staged
        for row in staged.suppressions:
            self._report[row.source] += 1
        staged.handled[key] = outcome
        self.batch.extend(staged)
        staged.clear()
        self._outgoing += self._staged_mail
        self._staged_mail = []

    def drop(self) -> None:
        """Forget the message being handled (it is left for a person, handled again next time)."""
        self._staged.clear()
        self._staged_mail = []

    def _suppress(self, email: str, list_key: str, reason: str, source: SuppressionSource) -> None:
        log.info("inbox: suppress %s on %s (%s)", masked(email), list_key, source)
        self._staged.suppressions.append(NewSuppression(email, list_key, reason, source))

    def bounce(self, key: str, target: Target, kind: Kind, bounce: Bounce, limit: int) -> None:
        """A hard bounce suppresses; a soft one counts, and ``limit`` issues' worth suppress.

        The soft bounces counted are those in the ledger, in the batch not yet committed and
        in this message (a DSN may name one address twice).
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
            self._staged.bounces.append(row)
        if kind is Kind.HARD:
            self._suppress(target.email, target.list_key, f"bounce {text}", "bounce")
            return
        if self._dry_run:
            pending = {target.issue_id}
        else:
            pending = self.batch.soft_issues(target.list_key, target.email)
            pending |= self._staged.soft_issues(target.list_key, target.email)
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
        self._staged_mail.append((envelope_sender(list_cfg.from_addr), message))

    async def flush(self) -> None:
        """Send the confirmations of the messages kept so far (call it after their commit).

        One connection serves the whole run; when it cannot be opened, the confirmations are
        logged as not sent and no later batch tries again (the suppressions stand).
        """
        outgoing, self._outgoing = self._outgoing, []
        if not outgoing:
            return
        connection = await self._connect(len(outgoing))
        if connection is None:
            return
        for sender, message in outgoing:
            try:
                await connection.send(sender, message)
            except DigestmailError as exc:
                log.warning("inbox: confirmation to %s not sent: %s", masked(message.email), exc)

    async def _connect(self, count: int) -> Connection | None:
        if self._connection is None and not self._unreachable:
            try:
                self._connection = await make_transport(self._config).connect()
            except DigestmailError as exc:
                self._unreachable = True
                log.warning("inbox: %d confirmation(s) not sent: %s", count, exc)
        elif self._unreachable:
            log.warning("inbox: %d confirmation(s) not sent: the transport is unreachable", count)
        return self._connection

    async def close(self) -> None:
        """Close the confirmations' connection, if one was opened."""
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
