"""Issue 14 in the CSV reader: control characters in names are folded where they are read, and
a row the csv module cannot parse (a field over its size limit) is one invalid row, after
which reading goes on at the next row."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from digestmail.models import Recipient
from digestmail.subscribers.reader import (
    SubscriberProblem,
    check_subscribers,
    count_rows,
    read_subscribers,
)

OVER = "x" * (csv.field_size_limit() + 1)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "subscribers.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "raw",
    [
        "Anna\x00Schmidt",
        "Anna\x01\x1fSchmidt",
        "Anna\x7fSchmidt",
        "Anna\x85\x9fSchmidt",
        "Anna\u2028Schmidt",
        "Anna\u2029 \tSchmidt",
        " Anna\r\nSchmidt\x00",
    ],
)
def test_control_characters_in_a_name_become_one_space(tmp_path: Path, raw: str) -> None:
    path = write(tmp_path, f'email,name\nanna@example.org,"{raw}"\n')
    (row,) = read_subscribers(path)
    assert isinstance(row, Recipient) and row.name == "Anna Schmidt"
    assert check_subscribers(path).ok


@pytest.mark.parametrize(
    "broken",
    [
        f"b@example.org,{OVER}\n",  # unquoted, on one line
        f'b@example.org,"{OVER}"\n',  # quoted, on one line
        f'b@example.org,"line one\n{OVER}\nstill the same field"\n',  # quoted, over lines
    ],
)
def test_a_field_over_the_limit_mid_file_is_one_invalid_row(tmp_path: Path, broken: str) -> None:
    before = "".join(f"a{i}@example.org,A{i}\n" for i in range(600))
    after = "".join(f"c{i}@example.org,C{i}\n" for i in range(600))
    path = write(tmp_path, "email,name\n" + before + broken + after)

    rows = list(read_subscribers(path))

    problems = [r for r in rows if isinstance(r, SubscriberProblem)]
    assert [(p.line, p.kind.value) for p in problems] == [(602, "invalid")]
    assert f"longer than {csv.field_size_limit()} characters" in problems[0].reason
    good = [r for r in rows if isinstance(r, Recipient)]
    assert len(good) == 1200
    assert good[600].email == "c0@example.org"
    assert good[600].line == 603 + broken.count("\n") - 1  # its real line, after the skip
    assert count_rows(path) == 1201
    report = check_subscribers(path)
    assert (report.valid, report.invalid) == (1200, 1)
