"""Who must not get mail (suppressions) and who asked for it on the web (subscriptions).

Kept apart from :mod:`digestmail.ledger.store` (issues and deliveries) because two programs
write these rows: the CLI and a send, and ``digestmail serve`` answering readers while a send
runs. Each write here is one short ``BEGIN IMMEDIATE`` transaction, so the other writer waits
milliseconds in SQLite's busy handler, never fails with "database is locked".

Addresses are matched case-insensitively through ``email_key`` (the case-folded address); an
empty ``list_key`` in a suppression means every list.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, cast, get_args

from digestmail.ledger.records import parse_time
from digestmail.ledger.schema import read_rows, transaction, utc_now

SuppressionSource = Literal["cli", "web", "bounce", "reply", "smtp"]
SOURCES: tuple[str, ...] = get_args(SuppressionSource)

SUBSCRIPTION_CHUNK = 500
"""Sign-ups fetched per query while streaming a list's subscriptions."""

_LIFTED_EVERYWHERE = ("bounce", "smtp")
"""Sources a confirmed sign-up lifts on every list: the confirmation mail arrived, so the
address works now."""
_LIFTED_ALL_LISTS = ("web", "reply")
"""Sources of an all-lists suppression the reader made themselves, so their new sign-up
outranks it. An editor's ``unsubscribe`` for all lists (``cli``) stays: it may be a legal block."""


@dataclass(frozen=True, slots=True)
class Suppression:
    """One row of ``digestmail suppressions``; ``list_key`` None means every list."""

    email: str
    list_key: str | None
    reason: str
    source: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Subscription:
    """A confirmed web sign-up: the consent record of one address on one list."""

    email: str
    list_key: str
    name: str
    requested_at: datetime
    confirmed_at: datetime
    ip: str | None = None


@dataclass(frozen=True, slots=True)
class NewSuppression:
    """One suppression to write: ``list_key`` None means every list; see ``Ledger.suppress``."""

    email: str
    list_key: str | None
    reason: str
    source: SuppressionSource


_SUPPRESS = (
    "INSERT INTO suppressions (email_key, list_key, email, reason, source, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (email_key, list_key) DO UPDATE SET reason = excluded.reason,"
    " source = excluded.source"
)


def check_sources(rows: Iterable[NewSuppression]) -> None:
    """Refuse an unknown source before any row is written (ValueError)."""
    for row in rows:
        if row.source not in SOURCES:
            raise ValueError(f"unknown suppression source {row.source!r}")


def write_suppressions(tx: sqlite3.Connection, rows: Sequence[NewSuppression]) -> None:
    """Write ``rows`` inside the caller's open write transaction (no commit of its own).

    For callers that commit suppressions together with rows of their own (the inbox: a batch
    of messages' suppressions, bounce rows and "handled" marks in one commit). The time is read
    here, under the write lock, so suppressions and attempts (also stamped under it) are in
    commit order: one stamped before an attempt committed before it. Rows for the same address
    and list apply in order, the last reason and source winning, as separate calls would.
    """
    check_sources(rows)
    now = utc_now()
    tx.executemany(
        _SUPPRESS,
        [
            (r.email.strip().casefold(), r.list_key or "", r.email.strip(), r.reason, r.source, now)
            for r in rows
        ],
    )


def suppress_many(db: sqlite3.Connection, path: Path, rows: Sequence[NewSuppression]) -> None:
    """Every row in one transaction (one commit, one fsync); see :func:`write_suppressions`."""
    check_sources(rows)
    if not rows:
        return
    with transaction(db, path) as tx:
        write_suppressions(tx, rows)


def suppress(
    db: sqlite3.Connection, path: Path, email: str, *, target: tuple[str | None, str, str]
) -> None:
    """``target`` is (list key or None for all, reason, source); see ``Ledger.suppress``."""
    list_key, reason, source = target
    suppress_many(
        db, path, [NewSuppression(email, list_key, reason, cast(SuppressionSource, source))]
    )


def suppressed(
    db: sqlite3.Connection, path: Path, emails: Sequence[str], *, list_key: str
) -> set[str]:
    """The members of ``emails`` (as given) suppressed on ``list_key`` or on every list."""
    if not emails:
        return set()
    keys = {e.strip().casefold() for e in emails}
    rows = read_rows(
        db,
        path,
        "SELECT email_key FROM suppressions"
        " WHERE email_key IN (SELECT value FROM json_each(?)) AND list_key IN (?, '')",
        (json.dumps(sorted(keys)), list_key),
    )
    hit = {str(row[0]) for row in rows}
    return {e for e in emails if e.strip().casefold() in hit}


def suppression_mark(db: sqlite3.Connection, path: Path) -> int:
    """The number of the newest suppression logged so far (0 when none)."""
    return int(read_rows(db, path, "SELECT coalesce(max(seq), 0) FROM suppression_log", ())[0][0])


def suppressed_since(
    db: sqlite3.Connection, path: Path, mark: int, *, list_key: str
) -> tuple[int, set[str]]:
    """Addresses (case-folded) suppressed on ``list_key`` or every list after ``mark``.

    Returns the new mark too. A logged suppression may have been lifted since: the caller
    confirms a hit with :func:`suppressed` before acting on it.
    """
    rows = read_rows(
        db,
        path,
        "SELECT seq, email_key, list_key FROM suppression_log WHERE seq > ? ORDER BY seq",
        (mark,),
    )
    if not rows:
        return mark, set()
    keys = {str(key) for _seq, key, target in rows if target in (list_key, "")}
    return int(rows[-1][0]), keys


def suppressions(db: sqlite3.Connection, path: Path, list_key: str | None) -> list[Suppression]:
    """Every suppression (that applies to ``list_key``: its own and the all-lists ones)."""
    where, params = ("WHERE list_key IN (?, '')", (list_key,)) if list_key else ("", ())
    rows = read_rows(
        db,
        path,
        f"SELECT email, list_key, reason, source, created_at FROM suppressions {where}"
        " ORDER BY created_at, email_key",
        params,
    )
    out: list[Suppression] = []
    for email, key, reason, source, created in rows:
        moment = parse_time(str(created))
        assert moment is not None  # NOT NULL in the schema
        out.append(Suppression(str(email), str(key) or None, str(reason), str(source), moment))
    return out


def subscribe(db: sqlite3.Connection, path: Path, item: Subscription) -> None:
    """Record a confirmed sign-up and lift the suppressions the reader has outgrown.

    Lifted: the list's own suppressions made before the sign-up was requested (a reader who
    unsubscribed *after* asking keeps their unsubscribe, even if an old link is confirmed
    later), bounce and "user unknown" suppressions on any list, and the reader's own all-lists
    ones. Everything happens in one transaction, so a send never sees half of it.
    """
    key = item.email.strip().casefold()
    requested = item.requested_at.astimezone(UTC).isoformat()
    with transaction(db, path) as tx:
        tx.execute(
            "INSERT INTO subscriptions (list_key, email_key, email, name, requested_at,"
            " confirmed_at, ip) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (list_key, email_key) DO UPDATE SET email = excluded.email,"
            " name = excluded.name, requested_at = excluded.requested_at,"
            " confirmed_at = excluded.confirmed_at, ip = excluded.ip",
            (
                item.list_key,
                key,
                item.email.strip(),
                item.name,
                requested,
                item.confirmed_at.astimezone(UTC).isoformat(),
                item.ip,
            ),
        )
        tx.execute(
            "DELETE FROM suppressions WHERE email_key = ? AND ("
            " (list_key = ? AND created_at < ?)"
            " OR source IN (SELECT value FROM json_each(?))"
            " OR (list_key = '' AND source IN (SELECT value FROM json_each(?))))",
            (
                key,
                item.list_key,
                requested,
                json.dumps(_LIFTED_EVERYWHERE),
                json.dumps(_LIFTED_ALL_LISTS),
            ),
        )


def subscriptions(db: sqlite3.Connection, path: Path, list_key: str) -> Iterator[Subscription]:
    """The list's confirmed sign-ups in address order, :data:`SUBSCRIPTION_CHUNK` per query.

    Short queries, each starting after the last address seen, so no read snapshot stays open
    while the caller sends (see ``Ledger.pending`` for why that matters).
    """
    after = ""
    while True:
        rows = read_rows(
            db,
            path,
            "SELECT email_key, email, name, requested_at, confirmed_at, ip FROM subscriptions"
            " WHERE list_key = ? AND email_key > ? ORDER BY email_key LIMIT ?",
            (list_key, after, SUBSCRIPTION_CHUNK),
        )
        for _key, email, name, requested, confirmed, ip in rows:
            requested_at, confirmed_at = parse_time(requested), parse_time(confirmed)
            assert requested_at is not None and confirmed_at is not None  # NOT NULL
            yield Subscription(
                str(email), list_key, str(name), requested_at, confirmed_at, ip and str(ip)
            )
        if len(rows) < SUBSCRIPTION_CHUNK:
            return
        after = str(rows[-1][0])
