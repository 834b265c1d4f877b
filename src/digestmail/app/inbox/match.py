"""Which of our deliveries a bounce is about: VERP token, else quoted Message-ID, else address.

In that order because each is less certain than the one before: the token is signed and names
list, issue and address; a Message-ID names the delivery but could be quoted by anyone; an
address in the report may be a forwarding target rather than the subscriber. A token or a
Message-ID that no delivery in the ledger has is not trusted, and the next way is tried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from digestmail.app.inbox.classify import Bounce
from digestmail.ledger.store import Ledger
from digestmail.message.verp import token_of, verp_token


@dataclass(frozen=True, slots=True)
class Target:
    """One delivery a bounce is about; ``issue_id`` empty when only the address was known."""

    list_key: str
    issue_id: str
    email: str
    matched_by: str
    """``verp``, ``message-id`` or ``recipient``: said in the suppression's reason."""


class Matcher:
    """Finds a bounce's deliveries in the ledger; the VERP table is built once, when needed."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        bounce_address: str,
        secret: str | None,
        members: Callable[[str], frozenset[str]],
    ) -> None:
        """``members(list_key)`` gives the list's addresses (CSV and sign-ups), case-folded."""
        self._ledger = ledger
        self._bounce_address = bounce_address
        self._secret = secret
        self._members = members
        self._tokens: dict[str, tuple[str, str, str]] | None = None

    def _token_table(self) -> dict[str, tuple[str, str, str]]:
        """Token -> delivery for every list delivery: one HMAC per row, paid once per run."""
        if self._tokens is None:
            assert self._secret is not None
            secret = self._secret
            self._tokens = {
                verp_token(secret, list_key=key, issue_id=issue, email=email): (key, issue, email)
                for key, issue, email in self._ledger.inbox.all_deliveries()
            }
        return self._tokens

    def by_verp(self, addresses: Iterable[str]) -> list[Target]:
        if not (self._bounce_address and self._secret):
            return []
        for address in addresses:
            token = token_of(self._bounce_address, address)
            if token is not None and token in self._token_table():
                key, issue, email = self._token_table()[token]
                return [Target(key, issue, email, "verp")]
        return []

    def by_message_id(self, message_ids: Iterable[str]) -> list[Target]:
        for message_id in message_ids:
            found = self._ledger.inbox.delivery_by_message_id(message_id)
            if found is not None:
                return [Target(*found, "message-id")]
        return []

    def by_recipient(self, recipients: Iterable[str], lists: Iterable[str]) -> list[Target]:
        """Each reported address that is on a list: its newest issue there, if it had one."""
        out: list[Target] = []
        keys = tuple(lists)
        for email in dict.fromkeys(r.lower() for r in recipients):
            delivered = dict(reversed(self._ledger.inbox.deliveries_to(email)))
            for key in keys:
                if key in delivered or email.casefold() in self._members(key):
                    out.append(Target(key, delivered.get(key, ""), email, "recipient"))
        return out

    def targets(self, bounce: Bounce, to: Iterable[str], lists: Iterable[str]) -> list[Target]:
        return (
            self.by_verp(to)
            or self.by_message_id(bounce.message_ids)
            or self.by_recipient(bounce.recipients, lists)
        )
