"""The rows of one issue: its stored content, its posts, and whether it finished or was skipped.

The SQL behind :meth:`Ledger.store_issue` and its neighbours, kept apart from the ledger's
class as :mod:`digestmail.ledger.audience` keeps the suppressions' (functions over a
connection, so the class stays a table of contents).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from digestmail.ledger.records import StoredIssue, parse_time
from digestmail.ledger.schema import read_rows, transaction, utc_now
from digestmail.models import Issue, IssueStatus, PostRef


def store(db: sqlite3.Connection, path: Path, issue: Issue, *, content_hash: str) -> None:
    """Write the issue unless it is stored already with content (see ``Ledger.store_issue``)."""
    now = utc_now()
    with transaction(db, path) as tx:
        row = tx.execute("SELECT status FROM issues WHERE id = ?", (issue.id,)).fetchone()
        if row is None or row[0] == IssueStatus.SKIPPED:
            tx.execute("DELETE FROM issues WHERE id = ?", (issue.id,))
            tx.execute(
                "INSERT INTO issues (id, list_key, period, subject, html, text, content_hash,"
                " status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?)",
                (
                    issue.id,
                    issue.list_name,
                    issue.period,
                    issue.subject,
                    issue.html,
                    issue.text,
                    content_hash,
                    now,
                ),
            )
            tx.executemany(
                "INSERT INTO issue_posts (issue_id, position, rel_path, permalink)"
                " VALUES (?, ?, ?, ?)",
                [(issue.id, i, p.rel_path, p.permalink) for i, p in enumerate(issue.posts)],
            )


def get(db: sqlite3.Connection, path: Path, issue_id: str) -> StoredIssue | None:
    rows = read_rows(
        db,
        path,
        "SELECT id, list_key, period, subject, html, text, content_hash, status,"
        " created_at, finished_at, skip_reason FROM issues WHERE id = ?",
        (issue_id,),
    )
    if not rows:
        return None
    (iid, list_key, period, subject, html, text, digest, status, created, finished, skip) = rows[0]
    posts = tuple(
        PostRef(str(rel), str(link))
        for rel, link in read_rows(
            db,
            path,
            "SELECT rel_path, permalink FROM issue_posts WHERE issue_id = ? ORDER BY position",
            (issue_id,),
        )
    )
    issue = Issue(
        id=str(iid),
        list_name=str(list_key),
        period=str(period),
        subject=str(subject),
        html=str(html),
        text=str(text),
        posts=posts,
    )
    created_at = parse_time(str(created))
    assert created_at is not None
    return StoredIssue(
        issue=issue,
        content_hash=str(digest),
        status=IssueStatus(status),
        created_at=created_at,
        finished_at=parse_time(finished),
        skip_reason=str(skip),
    )


def finish(db: sqlite3.Connection, path: Path, issue_id: str) -> None:
    with transaction(db, path) as tx:
        tx.execute(
            "UPDATE issues SET status = 'finished', finished_at = ?"
            " WHERE id = ? AND status = 'open'",
            (utc_now(), issue_id),
        )


def skip(db: sqlite3.Connection, path: Path, what: tuple[str, str, str, str]) -> None:
    """``what`` is (issue id, list key, period, reason); see ``Ledger.skip_issue``."""
    issue_id, list_key, period, reason = what
    with transaction(db, path) as tx:
        tx.execute(
            "INSERT INTO issues (id, list_key, period, status, skip_reason, created_at)"
            " VALUES (?, ?, ?, 'skipped', ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET skip_reason = excluded.skip_reason"
            " WHERE status = 'skipped'",
            (issue_id, list_key, period, reason, utc_now()),
        )
