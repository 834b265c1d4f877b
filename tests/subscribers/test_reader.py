"""Reading subscriber files the way editors really write them (Excel, LibreOffice, by hand)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import pytest

from digestmail.addresses import normalise_address
from digestmail.errors import SubscriberError, UsageError
from digestmail.models import Recipient
from digestmail.subscribers.reader import (
    SubscriberProblem,
    check_subscribers,
    count_rows,
    read_subscribers,
)
from tests.helpers import paths

FIXTURES = paths.FIXTURES / "subscribers"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "subscribers.csv"
    path.write_text(text, encoding="utf-8")
    return path


def recipients(path: Path) -> list[Recipient]:
    return [r for r in read_subscribers(path) if isinstance(r, Recipient)]


def problems(path: Path) -> list[SubscriberProblem]:
    return [p for p in read_subscribers(path) if isinstance(p, SubscriberProblem)]


def test_good_rows_become_recipients_with_their_lines_and_extra_columns() -> None:
    got = recipients(FIXTURES / "basic.csv")
    assert [(r.email, r.line) for r in got] == [
        ("anna.schmidt@example.org", 2),
        ("bernd.mueller@example.org", 3),
        ("carla@example.org", 8),
    ]
    assert got[0].name == "Anna Schmidt"
    assert got[0].fields == {"organisation": "Stadtteilbüro Nord"}
    assert got[2].name == ""


def test_a_line_break_inside_a_quoted_name_becomes_a_space_never_reaching_a_header() -> None:
    bernd = recipients(FIXTURES / "basic.csv")[1]
    assert bernd.name == "Müller, Bernd"


def test_bad_rows_are_reported_with_the_line_they_start_on_and_skipped() -> None:
    found = problems(FIXTURES / "basic.csv")
    assert [(p.line, p.kind) for p in found] == [
        (6, "invalid"),
        (7, "duplicate"),
        (9, "invalid"),
    ]
    assert found[0].email == "not-an-address"
    assert "not a valid address" in found[0].reason
    assert "line 2" in found[1].reason  # names the first occurrence
    assert "double quotes" in found[2].reason  # an unquoted comma split the name


def test_the_domain_is_lower_cased_and_duplicates_ignore_case() -> None:
    path = FIXTURES / "basic.csv"
    assert "carla@example.org" in {r.email for r in recipients(path)}
    duplicate = problems(path)[1]
    assert duplicate.email.casefold() == "anna.schmidt@example.org"


def test_an_excel_file_with_bom_crlf_and_sloppy_header_names_reads(tmp_path: Path) -> None:
    got = recipients(FIXTURES / "excel_bom.csv")
    assert [(r.email, r.name, dict(r.fields), r.line) for r in got] == [
        ("eva@example.org", "Eva Lang", {"stadt": "Köln"}, 2),
        ("fritz@example.org", "Fritz", {"stadt": ""}, 3),
    ]


def test_a_file_that_is_not_utf8_fails_before_any_row_naming_file_and_line() -> None:
    path = FIXTURES / "latin1.csv"
    with pytest.raises(SubscriberError, match="not UTF-8") as caught:
        read_subscribers(path)
    assert caught.value.path == path
    assert caught.value.line == 3
    assert str(path) in str(caught.value)


def test_a_file_without_an_email_column_is_refused() -> None:
    with pytest.raises(SubscriberError, match="no 'email' column") as caught:
        read_subscribers(FIXTURES / "no_email_column.csv")
    assert "cells: mail | name" in str(caught.value)


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    with pytest.raises(SubscriberError, match="not found") as caught:
        read_subscribers(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("email,name,Email\na@example.org,A,b@example.org\n", "'email' twice"),
    ],
)
def test_headers_that_cannot_work_are_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(SubscriberError, match=message):
        read_subscribers(write(tmp_path, text))


def test_broken_quoting_is_an_invalid_row_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'email,name\na@example.org,A\nb@example.org,"B"x\nc@example.org,C\n')
    rows = list(read_subscribers(path))
    assert [type(row) for row in rows] == [Recipient, SubscriberProblem, Recipient]
    problem = rows[1]
    assert isinstance(problem, SubscriberProblem)
    assert problem.line == 3 and "not valid CSV" in problem.reason


def test_empty_rows_and_rows_without_an_address(tmp_path: Path) -> None:
    path = write(tmp_path, "email,name\n,,\n\n ,Nobody\na@example.org\n")
    assert [(p.line, p.reason) for p in problems(path)] == [(4, "no email address")]
    assert [(r.email, r.name) for r in recipients(path)] == [("a@example.org", "")]


def test_without_dedupe_every_valid_row_is_a_recipient() -> None:
    rows = list(read_subscribers(FIXTURES / "basic.csv", dedupe=False))
    emails = [r.email.casefold() for r in rows if isinstance(r, Recipient)]
    assert emails.count("anna.schmidt@example.org") == 2


def test_the_file_is_streamed_and_duplicates_cost_a_few_bytes_per_address(tmp_path: Path) -> None:
    rows = 20_000
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name\n")
        for i in range(rows):
            out.write(f"user{i}@example.org,Person {i}\n")
        out.write("USER7@example.org,again\n")
    normalise_address("warm@example.org")  # email-validator's lazy imports are not ours
    good = duplicates = 0
    tracemalloc.start()
    try:
        for item in read_subscribers(path):
            if isinstance(item, Recipient):
                good += 1
            else:
                duplicates += item.kind == "duplicate"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (good, duplicates) == (rows, 1)
    # A set of these 20,000 addresses alone takes 3.5 MB (measured the same way), keeping the
    # rows far more; the digest table is 32,768 slots * 12 bytes = 384 KB (1.2 MB peak measured
    # while it grows).
    assert peak < 2_000_000


def test_check_counts_rows_and_lists_every_problem_in_line_order() -> None:
    report = check_subscribers(FIXTURES / "basic.csv")
    assert (report.rows, report.valid, report.invalid, report.duplicates, report.suppressed) == (
        6,
        3,
        2,
        1,
        0,
    )
    assert [p.line for p in report.problems] == [6, 7, 9]
    assert not report.ok


def test_check_reports_suppressed_addresses_without_calling_the_file_wrong() -> None:
    asked: list[str] = []

    def suppressed(batch: Sequence[str]) -> set[str]:
        asked.extend(batch)
        return {e for e in batch if e.startswith("eva@")}

    report = check_subscribers(FIXTURES / "excel_bom.csv", suppressed=suppressed)
    assert sorted(asked) == ["eva@example.org", "fritz@example.org"]
    assert (report.valid, report.suppressed) == (1, 1)
    assert [(p.line, p.kind) for p in report.problems] == [(2, "suppressed")]
    assert report.ok


def test_a_clean_file_is_ok() -> None:
    report = check_subscribers(FIXTURES / "excel_bom.csv")
    assert report.ok
    assert report.problems == ()


def test_an_address_typed_on_the_command_line_is_normalised_or_refused() -> None:
    assert normalise_address("  anna@EXAMPLE.org ") == "anna@example.org"
    with pytest.raises(UsageError, match="not a valid email address"):
        normalise_address("anna(at)example.org")


def test_umlaut_domains_are_kept_in_ascii_and_umlaut_local_parts_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "email,name\nanna@Bücher.example,Anna\nbernd@xn--bcher-kva.example,Bernd\n"
        "anna@xn--bcher-kva.example,Anna again\njürgen@example.org,Jürgen\n",
    )
    assert [r.email for r in recipients(path)] == [
        "anna@xn--bcher-kva.example",
        "bernd@xn--bcher-kva.example",
    ]
    found = problems(path)
    assert [(p.line, p.kind) for p in found] == [(4, "duplicate"), (5, "invalid")]
    assert "before the @-sign" in found[1].reason
    assert normalise_address("Anna@BÜCHER.example") == "Anna@xn--bcher-kva.example"


def test_a_german_excel_export_with_semicolons_and_e_mail_header_reads(tmp_path: Path) -> None:
    path = tmp_path / "excel-de.csv"
    path.write_bytes(
        "\ufeffE-Mail;Name;Organisation\r\n"
        'anna@example.org;"Schmidt; Anna";Büro Nord\r\n'
        "bernd@example.org;Bernd;\r\n".encode()
    )
    got = recipients(path)
    assert [(r.email, r.name, r.fields) for r in got] == [
        ("anna@example.org", "Schmidt; Anna", {"organisation": "Büro Nord"}),
        ("bernd@example.org", "Bernd", {"organisation": ""}),
    ]


def test_a_tab_separated_file_reads_and_extra_fields_name_the_separator(tmp_path: Path) -> None:
    path = write(tmp_path, "email\tname\nanna@example.org\tAnna\nb@example.org\tB\tC\n")
    assert [r.email for r in recipients(path)] == ["anna@example.org"]
    (problem,) = problems(path)
    assert problem.line == 3
    assert "3 fields but the header has 2 (put values that contain a tab in" in problem.reason


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (
            'email,"Name; Vorname"\na@example.org,"Schmidt; Anna"\n',
            {"name; vorname": "Schmidt; Anna"},
        ),
        (
            'E-Mail;"Name, Vorname"\na@example.org;"Schmidt, Anna"\n',
            {"name, vorname": "Schmidt, Anna"},
        ),
    ],
)
def test_separators_inside_quoted_header_cells_do_not_decide(
    tmp_path: Path, text: str, fields: dict[str, str]
) -> None:
    (anna,) = recipients(write(tmp_path, text))
    assert (anna.email, anna.fields) == ("a@example.org", fields)


def test_header_names_are_lower_cased_not_case_folded(tmp_path: Path) -> None:
    (anna,) = recipients(write(tmp_path, "email,Straße\na@example.org,Hauptstraße 1\n"))
    assert anna.fields == {"straße": "Hauptstraße 1"}


def test_two_address_columns_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SubscriberError, match="'email' and 'E-Mail': keep one"):
        read_subscribers(write(tmp_path, "email,E-Mail\na@example.org,b@example.org\n"))


@pytest.mark.parametrize(
    "text",
    [
        "email\na@example.org\n\nb@example.org\n;;\n",
        'email,name\na@example.org,"Anna\nSchmidt"\n\nb@example.org,B\n',
        'email;name\r\na@example.org;"A;\r\nB"\r\n',
        "email\n",
    ],
)
def test_the_row_count_for_the_prompt_is_the_one_check_reports(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    assert count_rows(path) == check_subscribers(path).rows


TRICKY_ADDRESSES = [
    "anna@example.org",
    "Anna.Schmidt@Example.ORG",
    "o'brien+news@example.co.uk",
    "a!#$%&'*+/=?^_`{|}~-b@example.org",
    "jürgen@example.org",
    "anna@bücher.example",
    "anna@xn--bcher-kva.example",
    "a" * 64 + "@example.org",
    "a" * 65 + "@example.org",
    "anna@" + "a" * 63 + ".example.org",
    "anna@" + "a" * 64 + ".example.org",
    "anna@" + ".".join(["a" * 60] * 4) + ".org",
    ".anna@example.org",
    "anna.@example.org",
    "an..na@example.org",
    '"anna schmidt"@example.org',
    "anna@localhost",
    "anna@example",
    "anna@example.test",
    "anna@example.invalid",
    "anna@-example.org",
    "anna@example-.org",
    "anna@example..org",
    "anna@example.123",
    "anna@[192.0.2.1]",
    "anna@@example.org",
    "anna@exa mple.org",
    "anna@example.org.",
    "anna",
    "@example.org",
]


@pytest.mark.parametrize("address", TRICKY_ADDRESSES)
def test_every_address_is_judged_and_normalised_exactly_as_email_validator_does(
    address: str,
) -> None:
    from email_validator import EmailNotValidError, validate_email

    try:
        checked = validate_email(address, check_deliverability=False, allow_smtputf8=False)
        expected = checked.ascii_email
    except EmailNotValidError:
        with pytest.raises(UsageError):
            normalise_address(address)
    else:
        assert normalise_address(address) == expected
