"""What ``digestmail inbox`` remembers: messages already handled, and the bounces it counted.

Kept apart from :mod:`digestmail.ledger.store` (issues and deliveries) because only the inbox
writes these rows. A message is remembered by its key (its Message-ID, or a hash of its bytes
when it has none), so a message seen twice (a crash between acting on it and moving it, the
same DSN delivered twice) counts once. A bounce is a row per message, list and address, so
soft bounces in *distinct* issues can be counted, and ``status`` can show bounces per issue.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digestmail.ledger.audience import NewSuppression, write_suppressions
from digestmail.ledger.schema import transaction, translate

VERP_CHUNK = 2000
"""Delivery rows read per query while the inbox rebuilds the VERP tokens."""


@dataclass(frozen=True, slots=True)
class BounceRow:
    """One bounce as the ledger keeps it; ``issue_id`` is empty when no issue was known."""

    message_key: str
    list_key: str
    issue_id: str
    email: str
    status: str
    hard: bool
    detail: str


@dataclass(slots=True)
class InboxBatch:
    """The ledger writes of messages handled but not yet committed (:meth:`InboxRecords.commit`).

    ``digestmail inbox`` fills one for a few hundred messages and commits it at once: a commit
    per message would be an fsync per message. Until then the batch is what the ledger does
    not know yet, so the inbox asks it too (a message seen earlier in the batch, a soft bounce
    counted earlier in it).
    """

    handled: dict[str, str] = field(default_factory=dict)
    """Message key -> outcome."""
    bounces: list[BounceRow] = field(default_factory=list)
    suppressions: list[NewSuppression] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.handled)

    def __bool__(self) -> bool:
        return bool(self.handled or self.bounces or self.suppressions)

    def extend(self, other: InboxBatch) -> None:
        self.handled.update({k: v for k, v in other.handled.items() if k not in self.handled})
        self.bounces.extend(other.bounces)
        self.suppressions.extend(other.suppressions)

    def clear(self) -> None:
        self.handled.clear()
        self.bounces.clear()
        self.suppressions.clear()

    def soft_issues(self, list_key: str, email: str) -> set[str]:
        """Issue ids of the batch's soft bounces of ``email`` on ``list_key``."""
        key = email.casefold()
        return {
            b.issue_id
            for b in self.bounces
            if not b.hard and b.list_key == list_key and b.email.casefold() == key
        }


def _now() -> str:
    return datetime.now(UTC).isoformat()


class InboxRecords:
    """The inbox's tables in one ledger file; made by :attr:`Ledger.inbox <.store.Ledger>`."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self._db = db
        self._path = path

    def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise translate(exc, self._path) from exc

    def outcome(self, key: str) -> str | None:
        """What a message handled before came to, or None for a message not seen yet."""
        rows = self._read("SELECT outcome FROM inbox_messages WHERE key = ?", (key,))
        return str(rows[0][0]) if rows else None

    def commit(self, batch: InboxBatch) -> None:
        """Write a batch of handled messages in one transaction (one commit, one fsync).

        Its suppressions, bounce rows and "handled" marks are all written or none: a crash
        before the commit leaves every message of the batch unseen (handled again next run),
        one after it leaves them all seen (counted once, moved by the next run). The first
        outcome of a message stays (a repeat changes nothing); a bounce row is keyed by
        message, list and address, so writing it again is harmless too.
        """
        if not batch:
            return
        with transaction(self._db, self._path) as db:
            now = _now()
            write_suppressions(db, batch.suppressions)
            db.executemany(
                "INSERT OR IGNORE INTO bounces (message_key, list_key, email_key, email,"
                " issue_id, status, hard, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        row.message_key,
                        row.list_key,
                        row.email.casefold(),
                        row.email,
                        row.issue_id,
                        row.status,
                        int(row.hard),
                        row.detail[:1000],
                        now,
                    )
                    for row in batch.bounces
                ],
            )
            db.executemany(
                "INSERT OR IGNORE INTO inbox_messages (key, outcome, processed_at)"
                " VALUES (?, ?, ?)",
                [(key, outcome, now) for key, outcome in batch.handled.items()],
            )

    def soft_issues(self, list_key: str, email: str, *, pending: Iterable[str] = ()) -> int:
        """In how many distinct issues the address bounced softly (unknown issues count once).

        ``pending``: issue ids of soft bounces not written yet (the batch being handled).
        """
        rows = self._read(
            "SELECT DISTINCT issue_id FROM bounces"
            " WHERE list_key = ? AND email_key = ? AND hard = 0",
            (list_key, email.casefold()),
        )
        return len({str(r[0]) for r in rows} | set(pending))

    def bounces_per_issue(self) -> dict[str, tuple[int, int]]:
        """Issue id -> (hard, soft) bounces, for ``status``."""
        out: dict[str, tuple[int, int]] = {}
        for issue_id, hard, soft in self._read(
            "SELECT issue_id, sum(hard), sum(1 - hard) FROM bounces GROUP BY issue_id"
        ):
            out[str(issue_id)] = (int(hard), int(soft))
        return out

    def delivery_by_message_id(self, message_id: str) -> tuple[str, str, str] | None:
        """(list key, issue id, address) of the delivery that had this Message-ID."""
        rows = self._read(
            "SELECT i.list_key, d.issue_id, d.email FROM deliveries d"
            " JOIN issues i ON i.id = d.issue_id WHERE d.message_id = ? LIMIT 1",
            (message_id,),
        )
        return (str(rows[0][0]), str(rows[0][1]), str(rows[0][2])) if rows else None

    def issues_newest_first(self) -> list[tuple[str, str]]:
        """(list key, issue id) of every issue, newest period first (where bounces are from)."""
        rows = self._read("SELECT list_key, id FROM issues ORDER BY period DESC, created_at DESC")
        return [(str(k), str(i)) for k, i in rows]

    def addresses_of(self, issue_id: str) -> Iterator[str]:
        """Every address the issue was delivered to (its VERP tokens), in chunks."""
        after = ""
        while True:
            rows = self._read(
                "SELECT email FROM deliveries WHERE issue_id = ? AND email > ?"
                " ORDER BY email LIMIT ?",
                (issue_id, after, VERP_CHUNK),
            )
            for (email,) in rows:
                yield str(email)
            if len(rows) < VERP_CHUNK:
                return
            after = str(rows[-1][0])

    def newest_issues_by_address(self) -> dict[str, dict[str, str]]:
        """Case-folded address -> {list key: the newest issue delivered to it there}.

        One pass over the deliveries, for a run that has bounces naming only an address: the
        ``deliveries`` table has no index on the address, so a query per bounce would read the
        whole table each time. The result is as big as the set of addresses, not the ledger.
        """
        out: dict[str, dict[str, str]] = {}
        try:
            cursor = self._db.execute(
                "SELECT i.list_key, d.issue_id, d.email FROM deliveries d"
                " JOIN issues i ON i.id = d.issue_id ORDER BY i.period, d.updated_at"
            )
            for key, issue_id, email in cursor:
                out.setdefault(str(email).casefold(), {})[str(key)] = str(issue_id)
        except sqlite3.Error as exc:
            raise translate(exc, self._path) from exc
        return out
