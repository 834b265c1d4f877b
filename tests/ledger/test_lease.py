"""The run lock is a lease in the ledger; these tests hold it from real, separate processes."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digestmail.errors import LockHeldError
from digestmail.ledger.lease import process_alive, this_host
from digestmail.ledger.store import Ledger

NAME = "send:monthly-2017-11"

HOLDER = """
    import sys, time
    from pathlib import Path
    from digestmail.errors import LockHeldError
    from digestmail.ledger.store import Ledger

    path, name, ttl, start = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]
    while start and not Path(start).exists():
        time.sleep(0.005)
    ledger = Ledger.open(path)
    try:
        lease = ledger.acquire_lock(name, ttl=ttl)
    except LockHeldError:
        print("refused", flush=True)
        sys.exit(75)
    print("held", flush=True)
    sys.stdin.read()  # hold until the test closes our stdin (or kills us)
"""


@pytest.fixture
def path(tmp_path: Path) -> Path:
    ledger_path = tmp_path / "state" / "digestmail.sqlite"
    Ledger.open(ledger_path).close()
    return ledger_path


@pytest.fixture
def children() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for child in started:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()


def spawn(
    children: list[subprocess.Popen[str]],
    path: Path,
    *,
    ttl: float = 3600.0,
    start: Path | None = None,
) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(HOLDER),
            str(path),
            NAME,
            str(ttl),
            str(start or ""),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    children.append(child)
    return child


def holding(child: subprocess.Popen[str]) -> subprocess.Popen[str]:
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "held"
    return child


def write_lease(path: Path, *, host: str, pid: int, expires_in: timedelta) -> None:
    """Plant a lease as another machine would have written it."""
    now = datetime.now(UTC)
    db = sqlite3.connect(path)
    with db:
        db.execute(
            "INSERT OR REPLACE INTO locks (name, token, host, pid, acquired_at, expires_at)"
            " VALUES (?, 'elsewhere', ?, ?, ?, ?)",
            (NAME, host, pid, now.isoformat(), (now + expires_in).isoformat()),
        )
    db.close()


def dead_pid() -> int:
    """The PID of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


def test_a_live_holder_in_another_process_keeps_the_lock(
    path: Path, children: list[subprocess.Popen[str]]
) -> None:
    child = holding(spawn(children, path))
    with Ledger.open(path) as ledger, pytest.raises(LockHeldError) as caught:
        ledger.acquire_lock(NAME)
    assert f"pid {child.pid}" in str(caught.value)
    assert caught.value.exit_code == 75


def test_a_holder_killed_with_sigkill_is_taken_over_at_once(
    path: Path, children: list[subprocess.Popen[str]]
) -> None:
    child = holding(spawn(children, path, ttl=3600))
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    with Ledger.open(path) as ledger:
        lease = ledger.acquire_lock(NAME)
        assert lease.pid == os.getpid()


def test_a_killed_holder_not_yet_reaped_by_its_parent_counts_as_dead(
    path: Path, children: list[subprocess.Popen[str]]
) -> None:
    child = holding(spawn(children, path, ttl=3600))
    child.send_signal(signal.SIGKILL)
    # Wait for it to exit but leave it a zombie, as a parent that has not called wait() would.
    os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
    with Ledger.open(path) as ledger:
        ledger.acquire_lock(NAME)


def test_a_holder_that_released_leaves_the_lock_free(
    path: Path, children: list[subprocess.Popen[str]]
) -> None:
    with Ledger.open(path) as ledger:
        lease = ledger.acquire_lock(NAME)
        ledger.release_lock(lease)
    child = spawn(children, path)
    holding(child)


def test_an_expired_lease_from_another_host_is_taken_over(path: Path) -> None:
    write_lease(path, host="other-host.example", pid=1, expires_in=timedelta(seconds=-1))
    with Ledger.open(path) as ledger:
        lease = ledger.acquire_lock(NAME)
        assert lease.host == this_host()


def test_a_current_lease_from_another_host_is_respected_whatever_its_pid(path: Path) -> None:
    # The PID is dead here, but it names a process on another machine, which cannot be checked.
    write_lease(path, host="other-host.example", pid=dead_pid(), expires_in=timedelta(minutes=5))
    with (
        Ledger.open(path) as ledger,
        pytest.raises(LockHeldError, match=re.escape("other-host.example")),
    ):
        ledger.acquire_lock(NAME)


def test_a_lease_of_this_host_with_a_dead_pid_is_taken_over_before_it_expires(path: Path) -> None:
    write_lease(path, host=this_host(), pid=dead_pid(), expires_in=timedelta(hours=1))
    with Ledger.open(path) as ledger:
        ledger.acquire_lock(NAME)


def test_renewing_a_lease_that_was_taken_over_fails(
    path: Path, children: list[subprocess.Popen[str]]
) -> None:
    with Ledger.open(path) as ledger:
        lease = ledger.acquire_lock(NAME, ttl=0.05)
        time.sleep(0.1)  # let the lease lapse
        child = holding(spawn(children, path))  # our lease expired: the child takes over
        with pytest.raises(LockHeldError, match=f"pid {child.pid}"):
            ledger.renew_lock(lease)
        # Releasing a lost lease must not free the new holder's lock.
        ledger.release_lock(lease)
        with pytest.raises(LockHeldError):
            ledger.acquire_lock(NAME)


def test_a_renewed_lease_keeps_a_second_process_out(
    path: Path, children: list[subprocess.Popen[str]]
) -> None:
    with Ledger.open(path) as ledger:
        lease = ledger.acquire_lock(NAME, ttl=3600)
        ledger.renew_lock(lease)
        child = spawn(children, path)
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "refused"
        assert child.wait(timeout=30) == 75


def test_of_several_processes_racing_for_the_lock_exactly_one_wins(
    path: Path, tmp_path: Path, children: list[subprocess.Popen[str]]
) -> None:
    start = tmp_path / "go"
    racers = [spawn(children, path, start=start) for _ in range(4)]
    start.touch()
    answers = []
    for racer in racers:
        assert racer.stdout is not None
        answers.append(racer.stdout.readline().strip())
    assert sorted(answers) == ["held", "refused", "refused", "refused"]


def test_locks_with_different_names_are_independent(path: Path) -> None:
    with Ledger.open(path) as ledger:
        ledger.acquire_lock("send:monthly-2017-11")
        ledger.acquire_lock("send:monthly-2017-12")


def test_process_alive_tells_a_running_process_from_a_finished_one() -> None:
    assert process_alive(os.getpid())
    assert not process_alive(dead_pid())
