"""The run lock: a lease row in the ledger, not a PID file.

A lease names its owner (host, PID and a random token per acquisition) and an expiry. It is
taken over at once when the expiry has passed, or when the owner ran on this host and its
process is gone, so a run after a crash (SIGKILL, power loss) resumes without waiting. The
check-and-take happens inside one ``BEGIN IMMEDIATE`` transaction, so of two processes racing
for the same lease exactly one wins.

A PID can be reused by an unrelated process after the owner died; then the lease looks alive
until its expiry, which is why leases are short (a minute) and renewed while the run lives.
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from digestmail.errors import LockHeldError
from digestmail.ledger.schema import transaction


@dataclass(frozen=True, slots=True)
class Lease:
    """Proof of holding the lock ``name``; the token tells this holder from a later one."""

    name: str
    token: str
    host: str
    pid: int
    ttl: float


@dataclass(frozen=True, slots=True)
class _Holder:
    token: str
    host: str
    pid: int
    expires_at: datetime

    def describe(self) -> str:
        until = self.expires_at.isoformat(timespec="seconds")
        return f"host {self.host}, pid {self.pid}, run {self.token[:8]}, lease until {until}"


def this_host() -> str:
    return socket.gethostname()


def process_alive(pid: int) -> bool:
    """Whether ``pid`` names a live process on this host.

    A zombie (exited, not yet reaped by its parent) counts as dead: it will never renew.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, but owned by another user
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no /proc (not Linux): trust kill()
    # The state letter follows the command name, which is in parentheses and may contain spaces.
    state = stat.rpartition(")")[2].split()
    return not (state and state[0] in ("Z", "X"))


def _now() -> datetime:
    return datetime.now(UTC)


def _holder(db: sqlite3.Connection, name: str) -> _Holder | None:
    row = db.execute(
        "SELECT token, host, pid, expires_at FROM locks WHERE name = ?", (name,)
    ).fetchone()
    if row is None:
        return None
    return _Holder(row[0], row[1], int(row[2]), datetime.fromisoformat(row[3]))


def _stale(holder: _Holder, now: datetime) -> bool:
    if holder.expires_at <= now:
        return True
    return holder.host == this_host() and not process_alive(holder.pid)


def acquire(db: sqlite3.Connection, path: Path, name: str, *, ttl: float) -> Lease:
    """Take the lease ``name`` for ``ttl`` seconds, or raise LockHeldError naming the holder."""
    if ttl <= 0:
        raise ValueError("ttl must be positive")
    lease = Lease(
        name=name, token=secrets.token_hex(16), host=this_host(), pid=os.getpid(), ttl=ttl
    )
    with transaction(db, path):
        now = _now()
        holder = _holder(db, name)
        if holder is not None and not _stale(holder, now):
            raise LockHeldError(name, holder.describe())
        db.execute(
            "INSERT OR REPLACE INTO locks (name, token, host, pid, acquired_at, expires_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                name,
                lease.token,
                lease.host,
                lease.pid,
                now.isoformat(),
                (now + timedelta(seconds=ttl)).isoformat(),
            ),
        )
    return lease


def renew(db: sqlite3.Connection, path: Path, lease: Lease) -> None:
    """Push the expiry ``lease.ttl`` seconds ahead; LockHeldError when it was taken over."""
    with transaction(db, path):
        expires = (_now() + timedelta(seconds=lease.ttl)).isoformat()
        cursor = db.execute(
            "UPDATE locks SET expires_at = ? WHERE name = ? AND token = ?",
            (expires, lease.name, lease.token),
        )
        if cursor.rowcount == 1:
            return
        holder = _holder(db, lease.name)
    owner = holder.describe() if holder else "nobody: it was released"
    raise LockHeldError(lease.name, f"lost the lease; now held by {owner}")


def release(db: sqlite3.Connection, path: Path, lease: Lease) -> None:
    """Give the lease up; a no-op when another run has taken it over meanwhile."""
    with transaction(db, path):
        db.execute("DELETE FROM locks WHERE name = ? AND token = ?", (lease.name, lease.token))
