"""A list's whole audience as one stream: the CSV's rows, then the web sign-ups it lacks.

Sign-ups come from the ledger, which this package must not import (they are siblings); the
caller (``app``) hands them in as an iterable that it streams from the ledger in chunks. One
:class:`~.seen.SeenAddresses` table spans both sources, so an address in the CSV and signed up
on the web is mailed once, under its CSV row (with the CSV's name and columns), and memory stays
at the table's 12 bytes an address however long either source is. Suppressions are not
applied here: the send screens every row against the ledger a chunk at a time, as it always has.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from digestmail.models import Recipient
from digestmail.subscribers.reader import SubscriberProblem, read_subscribers
from digestmail.subscribers.seen import SeenAddresses

Row = Recipient | SubscriberProblem

SIGNUP_LINE = 0
"""The "line" of a sign-up's recipient: it has no row in the file."""


def with_signups(path: Path, signups: Iterable[Recipient]) -> Iterator[Row]:
    """The CSV's rows (problems included, as ``read_subscribers`` yields them), then each
    sign-up whose address (ignoring case) the file did not have.

    The file's own faults are raised here, before anything is yielded, as
    ``read_subscribers`` does.
    """
    seen = SeenAddresses()
    rows = read_subscribers(path, seen=seen)
    return _chain(rows, signups, seen)


def _chain(rows: Iterator[Row], signups: Iterable[Recipient], seen: SeenAddresses) -> Iterator[Row]:
    yield from rows
    for recipient in signups:
        if seen.add(recipient.email, SIGNUP_LINE) is None:
            yield recipient
