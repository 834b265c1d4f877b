"""Issue 14: a full disk or an unusable folder stops a send at once, and the next run resumes.

Each test runs ``digestmail send`` on a copy of the sample project with a list of a few hundred
rows, lets the destination (the Maildir, or the ledger) refuse, checks the one clear message
and exit 75, then fixes the cause and checks that the resumed run delivers every remaining
subscriber exactly once. A real full file system is a 1 MiB tmpfs mounted by the test (root
only; skipped elsewhere); "freeing space" is a remount with more room.
"""

from __future__ import annotations

import collections
import contextlib
import mailbox
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import Cli

PERIOD = "2026-10"
NOW = "2026-11-24T12:00"
SEND = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")


@contextlib.contextmanager
def tmpfs(directory: Path, size: str = "1m") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` on ``directory`` for the block; unmount after (root only)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    directory.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)


def grow(directory: Path, size: str = "64m") -> None:
    """Give the mounted tmpfs more room, as freeing space on a real disk would."""
    subprocess.run(
        ["mount", "-o", f"remount,size={size}", str(directory)], check=True, capture_output=True
    )


def emails(n: int) -> list[str]:
    return [f"leser{i:05d}@example.org" for i in range(n)]


def project_with(root: Path, rows: int, *, maildir: Path, ledger: Path) -> list[str]:
    """The sample project sending ``rows`` subscribers into ``maildir``, recorded in ``ledger``."""
    config = root / "config" / "digestmail.toml"
    text = config.read_text(encoding="utf-8")
    text = text.replace('maildir = "outbox"', f'maildir = "{maildir}"')
    text = text.replace('path = "state/digestmail.sqlite"', f'path = "{ledger}"')
    config.write_text(text, encoding="utf-8")
    people = emails(rows)
    csv = "email,name\n" + "".join(f"{e},Leser {i}\n" for i, e in enumerate(people))
    (root / "config" / "subscribers" / "monthly.csv").write_text(csv, encoding="utf-8")
    return people


def delivered(maildir: Path) -> collections.Counter[str]:
    box = mailbox.Maildir(maildir, create=False)
    return collections.Counter(str(m["To"]).rsplit("<", 1)[-1].rstrip(">") for m in box)


def statuses(ledger: Path) -> collections.Counter[str]:
    with contextlib.closing(sqlite3.connect(ledger)) as db:
        rows = db.execute("SELECT status, count(*) FROM deliveries GROUP BY status").fetchall()
    return collections.Counter({str(s): int(n) for s, n in rows})


def test_a_full_disk_under_the_maildir_stops_at_once_and_the_next_run_resumes(
    sample_project: Path, cli: Cli
) -> None:
    with tmpfs(sample_project / "outbox") as outbox:
        ledger = sample_project / "state" / "digestmail.sqlite"
        people = project_with(sample_project, 400, maildir=outbox, ledger=ledger)

        started = time.monotonic()
        first = cli.run(*SEND, cwd=sample_project)
        took = time.monotonic() - started

        assert first.returncode == 75, first.stderr
        assert f"{outbox}: cannot write a message: No space left on device (ENOSPC)" in (
            " ".join(first.stderr.split())
        )
        assert "run the same command again to resume" in first.stderr
        assert took < 30  # it used to grind for minutes, each row tried five times
        written = delivered(outbox)
        assert 0 < sum(written.values()) < len(people)
        before = statuses(ledger)
        assert before["failed_permanent"] == before["failed_temporary"] == 0

        grow(outbox)
        again = cli.run(*SEND, cwd=sample_project)

        assert again.returncode == 0, again.stderr
        assert delivered(outbox) == collections.Counter(people)  # each exactly once
        assert statuses(ledger) == collections.Counter({"sent": len(people)})


def test_a_maildir_path_that_is_a_plain_file_stops_at_once(sample_project: Path, cli: Cli) -> None:
    outbox = sample_project / "outbox"
    outbox.write_text("not a folder\n", encoding="utf-8")
    ledger = sample_project / "state" / "digestmail.sqlite"
    people = project_with(sample_project, 50, maildir=outbox, ledger=ledger)

    first = cli.run(*SEND, cwd=sample_project)

    assert first.returncode == 75, first.stderr
    flat = " ".join(first.stderr.split())
    assert f"{outbox}: cannot use it as the Maildir: Not a directory (ENOTDIR)" in flat
    assert statuses(ledger)["failed_permanent"] == 0

    outbox.unlink()
    again = cli.run(*SEND, cwd=sample_project)

    assert again.returncode == 0, again.stderr
    assert delivered(outbox) == collections.Counter(people)


def test_a_full_disk_under_the_ledger_stops_with_exit_75_and_resends_at_most_one(
    sample_project: Path, cli: Cli
) -> None:
    outbox = sample_project / "outbox"
    with tmpfs(sample_project / "state") as state:
        ledger = state / "digestmail.sqlite"
        people = project_with(sample_project, 1500, maildir=outbox, ledger=ledger)

        first = cli.run(*SEND, cwd=sample_project)

        assert first.returncode == 75, first.stderr
        flat = " ".join(first.stderr.split())
        assert f"{ledger}: cannot write the ledger: its file system is full" in flat
        assert "Traceback" not in first.stderr
        sent_first = sum(delivered(outbox).values())
        assert 0 < sent_first < len(people)

        grow(state)
        again = cli.run(*SEND, cwd=sample_project)

        assert again.returncode == 0, again.stderr
        counts = delivered(outbox)
        assert set(counts) == set(people)
        twice = [e for e, n in counts.items() if n > 1]
        assert len(twice) <= 1  # the one message in flight on the one Maildir connection
        assert statuses(ledger) == collections.Counter({"sent": len(people)})
