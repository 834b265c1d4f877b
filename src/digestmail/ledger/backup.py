"""A consistent copy of the ledger, taken safely while a send runs: ``digestmail backup``.

Copying the file with ``cp`` while a send runs (or at all, in WAL mode) can miss the commits
that still live in ``-wal``, or catch the file half-checkpointed; restoring such a copy re-sends
what it forgot. SQLite's online backup API reads one consistent snapshot through a read
transaction, which in WAL mode never blocks the send's writers. The copy is switched out of WAL
mode before it is moved into place, so it is one self-contained file: no ``-wal`` or ``-shm``
belongs with it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from digestmail.errors import LedgerError, UsageError
from digestmail.ledger.schema import BUSY_TIMEOUT_MS, translate

_COMPANIONS = ("-wal", "-shm", "-journal")
"""Files SQLite keeps beside a database; a backup must never land on one of the ledger's."""


@dataclass(frozen=True, slots=True)
class BackupSummary:
    """What was copied, for the command's one-line report."""

    source: Path
    target: Path
    issues: int
    deliveries: int
    size: int
    """Bytes of the copy."""


def backup_ledger(source: Path, target: Path, *, force: bool = False) -> BackupSummary:
    """Copy the ledger at ``source`` to ``target`` as one self-contained SQLite file.

    Refuses an existing ``target`` unless ``force``, and ever the ledger itself or one of its
    companion files. The copy is written beside ``target`` and renamed into place, so an
    interrupted backup never leaves a half-written file under the name asked for.
    """
    _check_paths(source, target, force=force)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        _copy(source, partial)
        summary = _summarise(source, partial, target)
        partial.replace(target)
    except OSError as exc:
        raise LedgerError(f"cannot write the backup {target}: {exc}", path=source) from exc
    finally:
        for leftover in (partial, *(Path(f"{partial}{s}") for s in _COMPANIONS)):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return summary


def _check_paths(source: Path, target: Path, *, force: bool) -> None:
    if not source.is_file():
        raise LedgerError("no ledger here yet: nothing to back up", path=source)
    resolved = target.resolve()
    own = {Path(f"{source.resolve()}{suffix}") for suffix in ("", *_COMPANIONS)}
    if resolved in own:
        raise UsageError(f"{target} is the ledger itself (or one of its files); choose another")
    if target.is_dir():
        raise UsageError(f"{target} is a folder; give the backup's file name")
    if target.exists() and not force:
        raise UsageError(f"{target} exists; use --force to overwrite it")
    if not target.parent.is_dir():
        raise UsageError(f"{target.parent} does not exist; create it first")


def _copy(source: Path, partial: Path) -> None:
    """One consistent snapshot of ``source`` into ``partial``, then out of WAL mode."""
    uri = f"{source.resolve().as_uri()}?mode=rw"  # never creates a ledger that is not there
    try:
        src = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise translate(exc, source) from exc
    try:
        dst = sqlite3.connect(partial, isolation_level=None)
        try:
            src.backup(dst)  # all pages in one step: one snapshot, never restarted
            dst.execute("PRAGMA journal_mode = DELETE")
            verdict = dst.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise LedgerError(f"the copy does not check out: {verdict}", path=source)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise translate(exc, source) from exc
    finally:
        src.close()


def _summarise(source: Path, partial: Path, target: Path) -> BackupSummary:
    db = sqlite3.connect(f"{partial.resolve().as_uri()}?mode=ro", uri=True)
    try:
        issues = int(db.execute("SELECT count(*) FROM issues").fetchone()[0])
        deliveries = int(db.execute("SELECT count(*) FROM deliveries").fetchone()[0])
    except sqlite3.Error as exc:
        raise translate(exc, source) from exc
    finally:
        db.close()
    return BackupSummary(source, target, issues, deliveries, partial.stat().st_size)
