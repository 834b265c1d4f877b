"""Who gets a list: its CSV rows plus its confirmed web sign-ups, minus suppressions.

The one place that joins the subscriber file (``subscribers``) with the ledger's sign-ups and
suppressions (``ledger``), which must not import each other. Both a send and ``subscribers
export`` read the list through here, so what an editor exports is what a send mails. Everything
is streamed: the file row by row, the sign-ups and the suppression checks a chunk at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, islice

from digestmail.config import ListConfig
from digestmail.ledger.store import Ledger
from digestmail.models import Recipient
from digestmail.subscribers.effective import SIGNUP_LINE, Row, with_signups
from digestmail.subscribers.reader import read_subscribers
from digestmail.subscribers.seen import SeenAddresses

CHECK_CHUNK = 500
"""Addresses checked against the suppressions per ledger query in an export."""


@dataclass(frozen=True, slots=True)
class Member:
    """One row of ``subscribers export``: who, and where they came from."""

    email: str
    name: str
    source: str
    """``csv`` (the subscriber file) or ``web`` (a confirmed sign-up)."""
    confirmed: str
    """When a web sign-up was confirmed (ISO 8601, UTC); empty for a CSV row."""


def has_signups(ledger: Ledger, list_key: str) -> bool:
    """Whether the list has a confirmed web sign-up: a subscriber file with a header and no
    rows is then a list that lives on the web, not a broken file."""
    return next(iter(ledger.subscriptions(list_key)), None) is not None


def _signups(ledger: Ledger, list_key: str) -> Iterator[Recipient]:
    for item in ledger.subscriptions(list_key):
        yield Recipient(email=item.email, name=item.name)


def list_rows(list_cfg: ListConfig, ledger: Ledger) -> Iterator[Row]:
    """The rows a send of the list screens: the file's, then the sign-ups it lacks.

    Suppressions are left to the send's own screening (``deliver/recipients.py``), which
    checks them a chunk at a time as it goes, and once more just before each message starts
    for what was suppressed since (``LateSuppressions``): a reader who unsubscribes during a
    long send gets no message that had not started yet.
    """
    return with_signups(list_cfg.subscribers, _signups(ledger, list_cfg.key))


def effective_members(list_cfg: ListConfig, ledger: Ledger) -> Iterator[Member]:
    """The list as a send would mail it now: valid, distinct, not suppressed; streamed.

    The same order and deduplication as :func:`list_rows` (one ``SeenAddresses`` over the
    file, then the sign-ups), but keeping each sign-up's confirmation time for the export.
    """
    seen = SeenAddresses()
    rows = read_subscribers(list_cfg.subscribers, seen=seen)
    from_file = (Member(r.email, r.name, "csv", "") for r in rows if isinstance(r, Recipient))
    from_web = (
        Member(s.email, s.name, "web", s.confirmed_at.isoformat())
        for s in ledger.subscriptions(list_cfg.key)
        if seen.add(s.email, SIGNUP_LINE) is None
    )
    for chunk in _chunks(chain(from_file, from_web)):
        stopped = ledger.suppressed([m.email for m in chunk], list_key=list_cfg.key)
        yield from (m for m in chunk if m.email not in stopped)


def _chunks(items: Iterable[Member]) -> Iterator[list[Member]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, CHECK_CHUNK)):
        yield chunk
