"""Issue 14 through the command line: a NUL in a name and an oversize field mid-file.

Neither may lose a subscriber or end a send with exit 2 after messages went out: the name is
cleaned and mailed, the oversize row is named with its line and skipped, every row after it
is delivered, and once the file is fixed the next ``send`` delivers that row exactly once.
"""

from __future__ import annotations

import collections
import csv
import email
import email.policy
import mailbox
from email.message import EmailMessage
from pathlib import Path
from typing import BinaryIO

from tests.helpers.cli import Cli

SEND = ("send", "--list", "monthly", "--period", "2026-10", "--now", "2026-11-24T12:00", "--yes")


def parse(handle: BinaryIO) -> EmailMessage:
    message = email.message_from_binary_file(handle, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def messages(project: Path) -> list[EmailMessage]:
    return list(mailbox.Maildir(project / "outbox", factory=parse, create=False))  # type: ignore[arg-type]


def delivered(project: Path) -> collections.Counter[str]:
    return collections.Counter(m["To"].addresses[0].addr_spec for m in messages(project))


def write_rows(project: Path, rows: list[str]) -> None:
    path = project / "config" / "subscribers" / "monthly.csv"
    path.write_text("email,name\n" + "".join(rows), encoding="utf-8")


def test_a_nul_in_a_name_is_cleaned_and_the_row_delivered(sample_project: Path, cli: Cli) -> None:
    write_rows(
        sample_project, ["anna@example.org,Anna\x00Schmidt\n", "bernd@example.org,B\u2028M\n"]
    )

    check = cli.run("subscribers", "check", "--list", "monthly", cwd=sample_project)
    done = cli.run(*SEND, cwd=sample_project)

    assert check.returncode == 0, check.stdout + check.stderr
    assert done.returncode == 0, done.stderr
    names = sorted(m["To"].addresses[0].display_name for m in messages(sample_project))
    assert names == ["Anna Schmidt", "B M"]


def test_an_oversize_field_mid_file_is_skipped_and_the_rest_delivered(
    sample_project: Path, cli: Cli
) -> None:
    good = [f"leser{i:04d}@example.org" for i in range(700)]
    rows = [f"{e},Leser\n" for e in good]
    over = "x" * (csv.field_size_limit() + 1)
    write_rows(sample_project, [*rows[:600], f'kaputt@example.org,"{over}"\n', *rows[600:]])

    first = cli.run(*SEND, cwd=sample_project)

    assert first.returncode == 0, first.stderr  # an invalid row, like any other
    assert "line 602: a field is longer than" in first.stderr
    assert delivered(sample_project) == collections.Counter(good)

    write_rows(sample_project, [*rows[:600], "kaputt@example.org,Kaputt\n", *rows[600:]])
    again = cli.run(*SEND, cwd=sample_project)

    assert again.returncode == 0, again.stderr
    assert delivered(sample_project) == collections.Counter([*good, "kaputt@example.org"])
