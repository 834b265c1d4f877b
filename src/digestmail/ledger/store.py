"""The ledger: the one SQLite file that remembers what was sent, to whom, and who said stop.

It holds issues (the rendered copy every subscriber of the issue gets), deliveries (one row per
issue and address), suppressions and the run lock. The delivery engine writes it in batches —
one transaction per group of attempts or outcomes — so the ledger never limits throughput, yet
the rule "attempt committed before the SMTP transaction starts, outcome committed right after
the reply" means a crash loses at most the status of the messages in flight: on resume those
rows are still ``queued`` and are sent again (at-least-once, never lost).

Test copies (``send --to``) are recorded as deliveries of the issue id ``<issue id>#test``, so
they never count as, or stand in for, deliveries to the list.

One connection per Ledger, used from one thread (the CLI's asyncio thread). Times are stored
as UTC ISO 8601 strings.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from digestmail.errors import LedgerBusyError, LedgerError
from digestmail.ledger import audience, issue_rows
from digestmail.ledger import lease as leases
from digestmail.ledger.audience import (
    NewSuppression,
    Subscription,
    Suppression,
    SuppressionSource,
)
from digestmail.ledger.inbox import InboxRecords
from digestmail.ledger.lease import Lease
from digestmail.ledger.records import (
    DELIVERY_COLUMNS,
    DeliveryResult,
    IssueSummary,
    StoredIssue,
    Tally,
    delivery_from_row,
    parse_time,
    tally_from_rows,
    zero_counts,
)
from digestmail.ledger.schema import connect, transaction, translate, utc_now
from digestmail.models import Delivery, DeliveryStatus, Issue, IssueStatus, PostRef

__all__ = [
    "DeliveryResult",
    "IssueSummary",
    "Lease",
    "Ledger",
    "LedgerBusyError",
    "LedgerError",
    "NewSuppression",
    "StoredIssue",
    "Subscription",
    "Suppression",
]

PENDING_CHUNK = 500
"""Rows fetched per query by :meth:`Ledger.pending`."""

MAX_REPLY = 1000
"""Longest SMTP reply kept per delivery; a server's essay adds nothing to a status table."""


def _json_list(items: Iterable[str]) -> str:
    # One bound JSON parameter expanded by json_each() keeps the SQL text constant, so the
    # statement is prepared once and cached, whatever the batch size.
    return json.dumps(list(items))


class Ledger:
    """Access to one ledger file. Use as a context manager, or call :meth:`close`."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self.path = path

    @classmethod
    def open(cls, path: Path) -> Ledger:
        """Open the ledger at ``path``, creating and migrating it as needed.

        Raises LedgerError (naming ``path``) for a corrupt file or one from a newer version,
        and LedgerBusyError when another process keeps it locked beyond the busy timeout.
        """
        return cls(connect(path), path)

    def close(self) -> None:
        self._db.close()

    @property
    def inbox(self) -> InboxRecords:
        """What ``digestmail inbox`` remembers (handled messages, bounces); see ledger/inbox.py."""
        return InboxRecords(self._db, self.path)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _read(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc

    # --- issues ---------------------------------------------------------------------------

    def store_issue(self, issue: Issue, *, content_hash: str) -> StoredIssue:
        """Store the issue's content on its first send; later calls return that first copy.

        A resumed send must use what the first run sent, so every subscriber of one issue gets
        the same content. An issue recorded as skipped (it had no posts) has no content yet,
        so a later store turns it into an open issue with this content.
        """
        issue_rows.store(self._db, self.path, issue, content_hash=content_hash)
        stored = self.get_issue(issue.id)
        assert stored is not None  # written above, in a committed transaction
        return stored

    def get_issue(self, issue_id: str) -> StoredIssue | None:
        return issue_rows.get(self._db, self.path, issue_id)

    def finish_issue(self, issue_id: str) -> None:
        issue_rows.finish(self._db, self.path, issue_id)

    def skip_issue(self, *, issue_id: str, list_key: str, period: str, reason: str) -> None:
        """Remember that an issue had nothing to send, so a schedule does not retry it forever.

        An issue that was already stored with content is left alone.
        """
        issue_rows.skip(self._db, self.path, (issue_id, list_key, period, reason))

    def issues(
        self, list_key: str | None = None, *, with_counts: bool = True
    ) -> list[IssueSummary]:
        """Every issue (of one list), oldest period first, with delivery counts per status.

        Counting reads every delivery row of each issue; callers that only need the issues'
        status (choosing posts) pass ``with_counts=False``.
        """
        where, params = ("WHERE list_key = ?", (list_key,)) if list_key is not None else ("", ())
        rows = self._read(
            "SELECT id, list_key, period, subject, status, created_at, finished_at, skip_reason"
            f" FROM issues {where} ORDER BY list_key, period, id",
            params,
        )
        out: list[IssueSummary] = []
        for iid, key, period, subject, status, created, finished, skip in rows:
            created_at = parse_time(str(created))
            assert created_at is not None
            counts, relays = self._tally(str(iid)) if with_counts else (zero_counts(), {})
            out.append(
                IssueSummary(
                    id=str(iid),
                    list_key=str(key),
                    period=str(period),
                    subject=str(subject),
                    status=IssueStatus(status),
                    created_at=created_at,
                    finished_at=parse_time(finished),
                    skip_reason=str(skip),
                    counts=counts,
                    relays=relays,
                )
            )
        return out

    def sent_posts(self, list_key: str) -> set[PostRef]:
        """Posts of every issue of the list that finished or reached at least one subscriber."""
        rows = self._read(
            "SELECT DISTINCT p.rel_path, p.permalink FROM issues i"
            " JOIN issue_posts p ON p.issue_id = i.id"
            " WHERE i.list_key = ? AND (i.status = 'finished' OR EXISTS ("
            "   SELECT 1 FROM deliveries d WHERE d.issue_id = i.id AND d.status = 'sent'))",
            (list_key,),
        )
        return {PostRef(str(rel), str(link)) for rel, link in rows}

    # --- deliveries -------------------------------------------------------------------------

    def delivery_states(self, issue_id: str, emails: Sequence[str]) -> dict[str, Delivery]:
        """The existing delivery rows of ``emails`` (addresses without a row are absent)."""
        if not emails:
            return {}
        rows = self._read(
            f"SELECT {DELIVERY_COLUMNS} FROM deliveries"
            " WHERE issue_id = ? AND email IN (SELECT value FROM json_each(?))",
            (issue_id, _json_list(emails)),
        )
        return {str(row[1]): delivery_from_row(row) for row in rows}

    def mark_attempting(self, issue_id: str, items: Sequence[tuple[str, str]]) -> None:
        """Record ``(email, message_id)`` pairs as attempted; committed when this returns.

        Call before the SMTP transactions start: a row left ``queued`` by a crash is what makes
        the next run send that message again.
        """
        if not items:
            return
        with transaction(self._db, self.path) as db:
            now = utc_now()  # under the write lock: see audience.suppress
            db.executemany(
                "INSERT INTO deliveries (issue_id, email, status, attempts, message_id,"
                " created_at, updated_at) VALUES (?, ?, 'queued', 1, ?, ?, ?)"
                " ON CONFLICT (issue_id, email) DO UPDATE SET status = 'queued',"
                " attempts = attempts + 1, message_id = excluded.message_id,"
                " updated_at = excluded.updated_at",
                [(issue_id, email, message_id, now, now) for email, message_id in items],
            )

    def record_results(self, issue_id: str, results: Sequence[DeliveryResult]) -> None:
        """Record outcomes, all in one transaction (a row need not have been attempted)."""
        if not results:
            return
        now = utc_now()
        with transaction(self._db, self.path) as db:
            db.executemany(
                "INSERT INTO deliveries (issue_id, email, status, last_code, last_reply,"
                " created_at, updated_at, relay) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (issue_id, email) DO UPDATE SET status = excluded.status,"
                " last_code = excluded.last_code, last_reply = excluded.last_reply,"
                " updated_at = excluded.updated_at, relay = excluded.relay",
                [
                    (
                        issue_id,
                        r.email,
                        DeliveryStatus(r.status).value,
                        r.code,
                        r.reply[:MAX_REPLY],
                        now,
                        now,
                        r.relay,
                    )
                    for r in results
                ],
            )

    def pending(self, issue_id: str) -> Iterator[Delivery]:
        """Rows still to send: ``queued`` (attempted, outcome unknown) or ``failed_temporary``.

        Fetched :data:`PENDING_CHUNK` rows at a time, in address order, each chunk by its own
        short query that starts after the last address seen. The caller may write to this same
        ledger while iterating (that is the point: resume, record, repeat). One statement left
        open for the whole walk would instead keep its read snapshot alive, so SQLite could not
        checkpoint the write-ahead log and it would grow with every outcome (measured: 162 MiB
        for 20,000 outcomes, against a steady 4 MiB chunked); SQLite also leaves undefined what
        a query sees of rows its own connection changes under it. A row whose status changes
        before its chunk is read is seen with its new status, or not at all if no longer pending.
        """
        after = ""
        while True:
            rows = self._read(
                f"SELECT {DELIVERY_COLUMNS} FROM deliveries"
                " WHERE issue_id = ? AND status IN ('queued', 'failed_temporary') AND email > ?"
                " ORDER BY email LIMIT ?",
                (issue_id, after, PENDING_CHUNK),
            )
            for row in rows:
                yield delivery_from_row(row)
            if len(rows) < PENDING_CHUNK:
                return
            after = str(rows[-1][1])

    def counts(self, issue_id: str) -> dict[DeliveryStatus, int]:
        """Deliveries of the issue per status; every status is present, zero when unused."""
        return self._tally(issue_id)[0]

    def relay_counts(self, issue_id: str) -> dict[str, dict[DeliveryStatus, int]]:
        """Per relay, the issue's deliveries whose last outcome it gave, per status."""
        return self._tally(issue_id)[1]

    def _tally(self, issue_id: str) -> Tally:
        """Both counts from one pass over the issue's rows (``status`` reads every issue)."""
        return tally_from_rows(
            self._read(
                "SELECT status, relay, count(*) FROM deliveries WHERE issue_id = ?"
                " GROUP BY status, relay",
                (issue_id,),
            )
        )

    # --- suppressions -----------------------------------------------------------------------

    def suppress(
        self, email: str, *, list_key: str | None, reason: str, source: SuppressionSource = "cli"
    ) -> None:
        """Never send to ``email`` again (on ``list_key``, or on every list when None).

        Matching ignores case. Suppressing again keeps the first time and updates the reason
        and the source. ``source`` says who asked: ``cli``, ``web``, ``bounce``, ``reply``,
        ``smtp`` (a send met "user unknown").
        """
        audience.suppress(self._db, self.path, email, target=(list_key, reason, source))

    def suppress_many(self, rows: Sequence[NewSuppression]) -> None:
        """:meth:`suppress` for many addresses in one transaction: one commit, one fsync."""
        audience.suppress_many(self._db, self.path, rows)

    def suppressed(self, emails: Sequence[str], *, list_key: str) -> set[str]:
        """The members of ``emails`` (as given) suppressed on ``list_key`` or on every list."""
        return audience.suppressed(self._db, self.path, emails, list_key=list_key)

    def is_suppressed(self, email: str, *, list_key: str) -> bool:
        return bool(self.suppressed([email], list_key=list_key))

    def suppression_mark(self) -> int:
        """Where the log of new suppressions stands; see :meth:`suppressed_since`."""
        return audience.suppression_mark(self._db, self.path)

    def suppressed_since(self, mark: int, *, list_key: str) -> tuple[int, set[str]]:
        """(new mark, case-folded addresses suppressed on ``list_key`` since ``mark``)."""
        return audience.suppressed_since(self._db, self.path, mark, list_key=list_key)

    def suppressions(self, list_key: str | None = None) -> list[Suppression]:
        """Every suppression, oldest first; with ``list_key`` those that apply to that list."""
        return audience.suppressions(self._db, self.path, list_key)

    # --- web sign-ups -----------------------------------------------------------------------

    def subscribe(self, item: Subscription) -> None:
        """Record a confirmed sign-up; lifts what it outranks (see ``audience.subscribe``)."""
        audience.subscribe(self._db, self.path, item)

    def subscriptions(self, list_key: str) -> Iterator[Subscription]:
        """The list's confirmed sign-ups, streamed in chunks, in address order."""
        return audience.subscriptions(self._db, self.path, list_key)

    # --- the run lock ----------------------------------------------------------------------

    def acquire_lock(self, name: str, *, ttl: float = 60.0) -> Lease:
        """Take the lease ``name``; LockHeldError when a live owner holds it (see lease.py)."""
        return leases.acquire(self._db, self.path, name, ttl=ttl)

    def renew_lock(self, lease: Lease) -> None:
        """Extend the lease; LockHeldError when another run took it over meanwhile."""
        leases.renew(self._db, self.path, lease)

    def release_lock(self, lease: Lease) -> None:
        leases.release(self._db, self.path, lease)
