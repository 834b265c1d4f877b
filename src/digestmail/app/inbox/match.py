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
    """Finds a bounce's deliveries in the ledger; lookups are built lazily and kept for the run.

    VERP tokens are computed per issue, newest issue first, and only until the token is found:
    a bounce is nearly always about one of the last issues, so a run on a ledger of a hundred
    issues computes the tokens of one or two of them, not every delivery ever made. A token no
    issue has (a forgery, a token made with an old secret) costs every issue once per run.
    """

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
        self._issues: list[tuple[str, str]] | None = None
        self._tokens: dict[str, dict[str, tuple[str, str, str]]] = {}
        """Issue id -> token -> delivery, for the issues computed so far."""
        self._newest: dict[str, dict[str, str]] | None = None

    def _issue_tokens(self, list_key: str, issue_id: str) -> dict[str, tuple[str, str, str]]:
        """Token -> delivery for one issue: one HMAC per delivery, paid once per run."""
        table = self._tokens.get(issue_id)
        if table is None:
            assert self._secret is not None
            secret = self._secret
            table = {
                verp_token(secret, list_key=list_key, issue_id=issue_id, email=email): (
                    list_key,
                    issue_id,
                    email,
                )
                for email in self._ledger.inbox.addresses_of(issue_id)
            }
            self._tokens[issue_id] = table
        return table

    def _find_token(self, token: str) -> tuple[str, str, str] | None:
        for table in self._tokens.values():  # issues already computed: no new HMAC
            if token in table:
                return table[token]
        if self._issues is None:
            self._issues = self._ledger.inbox.issues_newest_first()
        for list_key, issue_id in self._issues:
            if issue_id not in self._tokens:
                found = self._issue_tokens(list_key, issue_id).get(token)
                if found is not None:
                    return found
        return None

    def by_verp(self, addresses: Iterable[str]) -> list[Target]:
        if not (self._bounce_address and self._secret):
            return []
        for address in addresses:
            token = token_of(self._bounce_address, address)
            found = self._find_token(token) if token is not None else None
            if found is not None:
                key, issue, email = found
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
        if self._newest is None:
            self._newest = self._ledger.inbox.newest_issues_by_address()
        for email in dict.fromkeys(r.lower() for r in recipients):
            delivered = self._newest.get(email.casefold(), {})
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
