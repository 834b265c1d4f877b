"""Opening the ledger's SQLite file and bringing its schema up to date.

The schema is versioned with ``PRAGMA user_version``: it holds how many entries of
:data:`MIGRATIONS` have been applied. A migration is only ever appended, never edited, so a
ledger written by any earlier release can be upgraded in place, and a ledger written by a newer
release is refused instead of being misread.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digestmail.errors import LedgerBusyError, LedgerError, LedgerStorageError

BUSY_TIMEOUT_MS = 10_000
"""How long a writer waits for another process's transaction before giving up."""

SYNCHRONOUS = "FULL"
"""Every commit is on disk when it returns, so a power cut re-sends no more than a kill does.

With NORMAL a WAL commit reaches the disk only at the next checkpoint: a power cut could take
back thousands of outcomes (and their attempts), and every one of those messages would go out
again. The group commit (deliver/group_commit.py) makes one commit carry about one outcome per
connection, so the extra fsync per commit costs little; README "Exactly once" has the figures.
"""


def _v1(db: sqlite3.Connection) -> None:
    # Deliveries and locks are keyed by what they are looked up by; WITHOUT ROWID stores each
    # row once, inside its primary key's b-tree, so no second index has to be written.
    db.execute(
        """CREATE TABLE issues (
            id TEXT PRIMARY KEY,
            list_key TEXT NOT NULL,
            period TEXT NOT NULL,
            subject TEXT NOT NULL DEFAULT '',
            html TEXT NOT NULL DEFAULT '',
            text TEXT NOT NULL DEFAULT '',
            content_hash TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL CHECK (status IN ('open', 'finished', 'skipped')),
            skip_reason TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            finished_at TEXT
        )"""
    )
    db.execute("CREATE INDEX issues_by_list ON issues (list_key, period)")
    db.execute(
        """CREATE TABLE issue_posts (
            issue_id TEXT NOT NULL REFERENCES issues (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            rel_path TEXT NOT NULL,
            permalink TEXT NOT NULL,
            PRIMARY KEY (issue_id, position)
        ) WITHOUT ROWID"""
    )
    # issue_id is deliberately not a foreign key: test copies live under "<issue id>#test".
    db.execute(
        """CREATE TABLE deliveries (
            issue_id TEXT NOT NULL,
            email TEXT NOT NULL,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_code INTEGER,
            last_reply TEXT NOT NULL DEFAULT '',
            message_id TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (issue_id, email)
        ) WITHOUT ROWID"""
    )
    # Only rows that still need work are in this index, so resuming a 1,000,000-row send whose
    # last 50 messages are open reads 50 index entries, not the whole issue.
    db.execute(
        """CREATE INDEX deliveries_open ON deliveries (issue_id, email)
           WHERE status IN ('queued', 'failed_temporary')"""
    )
    # email_key is the case-folded address, so an unsubscribe typed in any case matches; an
    # empty list_key means every list (NULL would defeat the primary key's uniqueness).
    db.execute(
        """CREATE TABLE suppressions (
            email_key TEXT NOT NULL,
            list_key TEXT NOT NULL,
            email TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            PRIMARY KEY (email_key, list_key)
        ) WITHOUT ROWID"""
    )
    db.execute(
        """CREATE TABLE locks (
            name TEXT PRIMARY KEY,
            token TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            acquired_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        ) WITHOUT ROWID"""
    )


def _v2(db: sqlite3.Connection) -> None:
    """Suppressions of umlaut-domain addresses, stored in Unicode before addresses were kept in
    their IDNA form, are rewritten to it; else an unsubscribed reader would be mailed again.

    An address that has no ASCII form (non-ASCII before the ``@``) is left as it is: it is
    refused as a subscriber anyway. A Unicode-domain address could not be sent before (its To
    header was refused, 553), so its delivery rows only record that refusal: they are removed,
    not rewritten. Under its ASCII form an open issue now reaches the reader once, and
    ``status`` does not count one reader twice.
    """
    from email_validator import EmailNotValidError

    from digestmail.addresses import ascii_email

    rows = db.execute(
        "SELECT email_key, list_key, email, reason, created_at FROM suppressions"
    ).fetchall()
    for key, list_key, email, reason, created in rows:
        if str(email).isascii():
            continue
        try:
            converted = ascii_email(email)
        except EmailNotValidError:
            continue
        db.execute("DELETE FROM suppressions WHERE email_key = ? AND list_key = ?", (key, list_key))
        db.execute(
            "INSERT OR IGNORE INTO suppressions (email_key, list_key, email, reason, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (converted.casefold(), list_key, converted, reason, created),
        )
    unsent = db.execute("SELECT DISTINCT email FROM deliveries WHERE status != 'sent'").fetchall()
    for (email,) in unsent:
        if str(email).isascii():
            continue
        try:
            ascii_email(email)
        except EmailNotValidError:
            continue  # no ASCII form: such an address is refused as a subscriber now
        db.execute("DELETE FROM deliveries WHERE email = ? AND status != 'sent'", (email,))


def _v3(db: sqlite3.Connection) -> None:
    """Who asked for a suppression (``source``), and confirmed web sign-ups with their consent.

    Until now a suppression came from ``digestmail unsubscribe`` or from a send that met
    "user unknown" (its reason the SMTP reply, ``550 5.1.1 ...``): those rows get ``smtp``,
    every other one ``cli``. No row is dropped or rewritten otherwise.

    A subscription is kept per list and address, keyed like a suppression (case-folded), with
    what a consent record needs: when it was requested and confirmed, the name given, and the
    client IP only when ``web.store_ip`` is on (NULL otherwise).
    """
    db.execute(
        "ALTER TABLE suppressions ADD COLUMN source TEXT NOT NULL DEFAULT 'cli'"
        " CHECK (source IN ('cli', 'web', 'bounce', 'reply', 'smtp'))"
    )
    db.execute("UPDATE suppressions SET source = 'smtp' WHERE reason GLOB '5[0-9][0-9] *'")
    db.execute(
        """CREATE TABLE subscriptions (
            list_key TEXT NOT NULL,
            email_key TEXT NOT NULL,
            email TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            requested_at TEXT NOT NULL,
            confirmed_at TEXT NOT NULL,
            ip TEXT,
            PRIMARY KEY (list_key, email_key)
        ) WITHOUT ROWID"""
    )


def _v4(db: sqlite3.Connection) -> None:
    """``digestmail inbox``: the messages it handled, the bounces it counted, and an index to
    find a delivery by the Message-ID a bounce quotes (one more b-tree insert per delivery)."""
    db.execute("CREATE INDEX deliveries_by_message_id ON deliveries (message_id)")
    db.execute(
        """CREATE TABLE inbox_messages (
            key TEXT PRIMARY KEY,
            outcome TEXT NOT NULL,
            processed_at TEXT NOT NULL
        ) WITHOUT ROWID"""
    )
    db.execute(
        """CREATE TABLE bounces (
            message_key TEXT NOT NULL,
            list_key TEXT NOT NULL,
            email_key TEXT NOT NULL,
            email TEXT NOT NULL,
            issue_id TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT '',
            hard INTEGER NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            PRIMARY KEY (message_key, list_key, email_key)
        ) WITHOUT ROWID"""
    )
    db.execute("CREATE INDEX bounces_by_address ON bounces (list_key, email_key)")


def _v5(db: sqlite3.Connection) -> None:
    """A numbered log of new suppressions, so a running send sees one made after it screened.

    ``seq`` only ever grows (AUTOINCREMENT never reuses a number, even after a delete), and a
    trigger writes the row in the transaction that inserts the suppression, whoever the writer
    is (``serve``, the CLI, a bounce). A send remembers the last ``seq`` it read and asks only
    for the rows after it: a query that reads nothing when nobody suppressed anybody. An
    update of an existing suppression (a new reason) adds no row: the address was suppressed
    already. The log grows by one short row per suppression made; nothing prunes it yet.
    """
    db.execute(
        """CREATE TABLE suppression_log (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            email_key TEXT NOT NULL,
            list_key TEXT NOT NULL
        )"""
    )
    db.execute(
        """CREATE TRIGGER suppression_logged AFTER INSERT ON suppressions BEGIN
            INSERT INTO suppression_log (email_key, list_key)
            VALUES (NEW.email_key, NEW.list_key);
        END"""
    )


def _v6(db: sqlite3.Connection) -> None:
    """Which relay gave each delivery its last outcome (``[[smtp.relays]]``): for a sent
    message the relay that accepted it, so ``status`` counts per relay. NULL for rows written
    before, and for outcomes no relay gave (the Maildir, a row refused by digestmail itself)."""
    db.execute("ALTER TABLE deliveries ADD COLUMN relay TEXT")


Migration = Callable[[sqlite3.Connection], None]

MIGRATIONS: tuple[Migration, ...] = (_v1, _v2, _v3, _v4, _v5, _v6)
"""Applied in order; ``user_version`` counts how many ran. Append only."""

SCHEMA_VERSION = len(MIGRATIONS)


def is_busy(exc: sqlite3.Error) -> bool:
    """True for the errors that mean "another process holds the file", worth retrying later."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return True
    text = str(exc)
    return "database is locked" in text or "database is busy" in text


def _storage_trouble(exc: sqlite3.Error) -> str | None:
    """What went wrong with the disk under the ledger, or None for any other error."""
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    if primary == sqlite3.SQLITE_FULL or "database or disk is full" in text:
        return "its file system is full (database or disk is full)"
    if primary == sqlite3.SQLITE_IOERR or "disk I/O error" in text:
        name = getattr(exc, "sqlite_errorname", None) or "SQLITE_IOERR"
        return f"the disk under it failed a read or write ({text}, {name})"
    return None


def utc_now() -> str:
    """The time a row is stamped with: UTC, ISO 8601 (sortable as text)."""
    return datetime.now(UTC).isoformat()


def read_rows(db: sqlite3.Connection, path: Path, sql: str, params: Sequence[object]) -> list[Any]:
    """Every row of a query; an SQLite error becomes a LedgerError naming ``path``."""
    try:
        return db.execute(sql, params).fetchall()
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc


def translate(exc: sqlite3.Error, path: Path) -> LedgerError:
    """Turn a driver error into one the CLI can show and map to an exit code."""
    trouble = _storage_trouble(exc)
    if trouble is not None:
        return LedgerStorageError(
            f"cannot write the ledger: {trouble}; the send stopped: free space (or fix the "
            "disk), then run the same command again to resume",
            path=path,
        )
    if is_busy(exc):
        return LedgerBusyError(
            f"the ledger stayed locked by another process for over {BUSY_TIMEOUT_MS // 1000} s "
            "(run the command again later)",
            path=path,
        )
    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc):
        return LedgerError(
            "is not a digestmail ledger (not an SQLite database, or damaged); move it away to "
            "start a new ledger",
            path=path,
        )
    return LedgerError(f"cannot use the ledger: {exc}", path=path)


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating when missing) and migrate the ledger at ``path``.

    The connection is in autocommit mode (``isolation_level=None``) so every write transaction
    is an explicit ``BEGIN IMMEDIATE``: taking the write lock up front means a transaction never
    has to upgrade a read lock, which SQLite cannot wait for and would fail at once.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LedgerError(f"cannot create the ledger's directory: {exc}", path=path) from exc
    try:
        db = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            _prepare(db, path)
            return db
        except sqlite3.Error as exc:
            # A few lock upgrades fail at once instead of waiting in SQLite's busy handler
            # (switching a new file to WAL while another process does the same, a WAL
            # recovery in progress): retry those here, with jitter so racers spread out.
            if is_busy(exc) and time.monotonic() < deadline:
                time.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 0.2)
                continue
            db.close()
            raise translate(exc, path) from exc
        except BaseException:
            db.close()
            raise


def _prepare(db: sqlite3.Connection, path: Path) -> None:
    """Set the connection up and migrate; safe to repeat after a busy error part-way."""
    db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # WAL lets `status` read while a send writes. The mode is stored in the file, so only a
    # new ledger needs the switch (which takes an exclusive lock). See SYNCHRONOUS for FULL.
    mode = str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    if mode != "wal":
        mode = str(db.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        if mode != "wal":
            raise LedgerError(f"cannot switch the ledger to WAL mode (got {mode})", path=path)
    db.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
    db.execute("PRAGMA foreign_keys = ON")
    migrate(db, path)


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations this file lacks, all in one transaction (so never half-applied)."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise LedgerError(
            f"was written by a newer digestmail (schema {version}; this version knows up to "
            f"{SCHEMA_VERSION}); upgrade digestmail",
            path=path,
        )
    db.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the write lock: another process may have migrated in the meantime.
        version = db.execute("PRAGMA user_version").fetchone()[0]
        for step in MIGRATIONS[version:]:
            step(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
        raise


BEGIN_STEPS = (0.0002, 0.005)
"""First and longest sleep (s) between two tries to take the write lock from another writer."""


def _begin_immediate(db: sqlite3.Connection) -> None:
    """``BEGIN IMMEDIATE``, waiting for another writer in short steps, up to the busy timeout.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20 ms ... between tries: a writer that
    meets another's commit of 1-2 ms (one fsync) comes back after 3 ms, 8 ms, 18 ms. serve and a
    running send commit hundreds of times a second, so those sleeps, not the commits, were what
    they waited for. Here the first try does not wait at all, then the sleeps double from
    0.2 ms to 5 ms, until ``BUSY_TIMEOUT_MS`` has passed as before.
    """
    db.execute("PRAGMA busy_timeout = 0")
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        delay, longest = BEGIN_STEPS
        while True:
            try:
                db.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, longest)
    finally:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any error.

    Driver errors leave as :class:`LedgerError` naming ``path``, so callers never see
    ``sqlite3`` exceptions.
    """
    try:
        _begin_immediate(db)
    except sqlite3.Error as exc:
        raise translate(exc, path) from exc
    try:
        yield db
        db.execute("COMMIT")
    except BaseException as exc:
        if db.in_transaction:
            # On a full disk SQLite may have rolled back already, or fail to: the error that
            # caused it is the one to report, never the rollback's own.
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise translate(exc, path) from exc
        raise
