"""A write that meets another writer's transaction waits for it (in short steps), then commits.

``schema.transaction`` takes the write lock itself instead of leaving the wait to SQLite's busy
handler; these tests hold it to what the handler did: wait while the other writer holds the
lock, go on once it lets go, and keep the connection's busy timeout for the statements after.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from digestmail.ledger import schema
from digestmail.ledger.store import Ledger


def test_a_write_waits_for_a_short_transaction_of_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path).close()
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "INSERT INTO suppressions (email_key, list_key, email, reason, created_at)"
        " VALUES ('first@example.org', '', 'first@example.org', 'x', '2026-01-01')"
    )
    release = threading.Timer(0.05, lambda: other.execute("COMMIT"))
    release.start()
    try:
        with Ledger.open(path) as ledger:
            ledger.suppress("second@example.org", list_key=None, reason="test")
            busy = ledger._db.execute("PRAGMA busy_timeout").fetchone()[0]
            emails = [s.email for s in ledger.suppressions()]
    finally:
        release.join()
        other.close()

    assert emails == ["first@example.org", "second@example.org"]
    assert busy == schema.BUSY_TIMEOUT_MS
