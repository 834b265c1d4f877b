"""The Quick start's job, end to end: build and send the sample digest into a real Maildir.

Runs the installed ``digestmail`` command as a user would, on a copy of the shipped sample
project (config, content, theme), and reads the results back from disk.
"""

from __future__ import annotations

import email
import email.policy
import json
import mailbox
import os
import re
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.helpers.cli import Cli

PERIOD = "2026-10"
ISSUE = f"monthly-{PERIOD}"
NOW = "2026-11-24T12:00"


@pytest.fixture
def project(sample_project: Path) -> Path:
    return sample_project


def subscribers(project: Path) -> list[str]:
    lines = (project / "config/subscribers/monthly.csv").read_text(encoding="utf-8").splitlines()
    return [line.split(",")[0].lower() for line in lines[1:] if line.strip()]


def test_build_writes_preview_files_and_records_nothing(project: Path, cli: Cli) -> None:
    done = cli.run("build", "--list", "monthly", "--period", PERIOD, "--now", NOW, cwd=project)
    assert done.returncode == 0, done.stderr
    html = (project / "out" / f"{ISSUE}.html").read_text(encoding="utf-8")
    text = (project / "out" / f"{ISSUE}.txt").read_text(encoding="utf-8")
    raw = (project / "out" / f"{ISSUE}.eml").read_bytes()
    assert "<html" in html and 'lang="de"' in html
    assert "Oktober 2026" in text
    for preview in ("html", "txt"):  # read_text() would hide a CR: look at the bytes
        assert b"\r" not in (project / "out" / f"{ISSUE}.{preview}").read_bytes()
    assert b"\r\n" in raw
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["To"].addresses[0].addr_spec == subscribers(project)[0]
    assert ISSUE in done.stderr and "tips" in done.stderr
    assert not (project / "state").exists()
    assert not (project / "outbox").exists()


def test_empty_period_exits_2_unless_allowed(project: Path, cli: Cli) -> None:
    done = cli.run("build", "--list", "monthly", "--period", "2017-11", "--now", NOW, cwd=project)
    assert done.returncode == 2
    assert "no tips" in done.stderr and "--allow-empty" in done.stderr
    allowed = cli.run(
        "build",
        "--list",
        "monthly",
        "--period",
        "2017-11",
        "--now",
        NOW,
        "--allow-empty",
        cwd=project,
    )
    assert allowed.returncode == 0, allowed.stderr
    blank = cli.run("build", "--list", "monthly", "--period", "", "--now", NOW, cwd=project)
    assert blank.returncode == 2, "an empty --period is a mistake, not 'previous'"
    assert "not a period" in blank.stderr


def test_send_delivers_once_per_subscriber_and_a_second_send_nothing(
    project: Path, cli: Cli
) -> None:
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    dry = cli.run(*args, "--dry-run", cwd=project)
    assert dry.returncode == 0, dry.stderr
    assert not (project / "state").exists(), "a dry run writes nothing"
    assert not (project / "outbox").exists()

    first = cli.run(*args, cwd=project)
    assert first.returncode == 0, first.stderr
    box = mailbox.Maildir(project / "outbox", create=False)
    received = sorted(
        email.message_from_bytes(m.as_bytes(), policy=email.policy.default)["To"]
        .addresses[0]
        .addr_spec.lower()
        for m in box
    )
    assert received == sorted(subscribers(project))

    second = cli.run(*args, cwd=project)
    assert second.returncode == 0, second.stderr
    assert len(list(mailbox.Maildir(project / "outbox", create=False))) == len(received)

    status = cli.run("status", "--format", "json", cwd=project)
    assert status.returncode == 0, status.stderr
    (row,) = json.loads(status.stdout)
    assert row["id"] == ISSUE
    assert row["status"] == "finished"
    assert row["counts"]["sent"] == len(received)

    archive = project / "archive" / "monthly"
    assert (archive / f"{ISSUE}.html").exists()
    assert ISSUE in (archive / "index.html").read_text(encoding="utf-8")


def test_a_file_without_one_usable_address_never_swallows_the_issue(
    project: Path, cli: Cli
) -> None:
    # One column "email" but the rows separated by ';': every row is an invalid address.
    csv = project / "config" / "subscribers" / "monthly.csv"
    good = csv.read_text(encoding="utf-8")
    csv.write_text("email\nanna@example.org;Anna\nbernd@example.org;Bernd\n", encoding="utf-8")
    due = ("run-due", "--now", "2026-11-02T09:00")

    broken = cli.run(*due, cwd=project)
    assert broken.returncode == 2, broken.stderr
    assert "monthly.csv: no address to mail (2 invalid row(s)" in broken.stderr
    assert not (project / "outbox").exists()
    status = json.loads(cli.run("status", "--format", "json", cwd=project).stdout)
    assert [(r["id"], r["status"]) for r in status] == [(ISSUE, "open")]
    check = cli.run("subscribers", "check", "--list", "monthly", cwd=project)
    assert check.returncode == 2
    assert "no address to mail" in check.stderr

    csv.write_text(good, encoding="utf-8")
    fixed = cli.run(*due, cwd=project)
    assert fixed.returncode == 0, fixed.stderr
    assert len(list(mailbox.Maildir(project / "outbox", create=False))) == len(subscribers(project))


def test_a_finished_issue_sent_again_to_an_emptied_file_is_just_done(
    project: Path, cli: Cli
) -> None:
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    assert cli.run(*args, cwd=project).returncode == 0
    (project / "config" / "subscribers" / "monthly.csv").write_text("email,name\n")
    for extra in ((), ("--dry-run",)):
        again = cli.run(*args, *extra, cwd=project)
        assert again.returncode == 0, again.stderr
        assert "no address to mail" not in again.stderr


def test_a_header_only_file_is_refused_by_send_and_check(project: Path, cli: Cli) -> None:
    (project / "config" / "subscribers" / "monthly.csv").write_text("email,name\n")
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    for extra in (("--dry-run",), ()):
        refused = cli.run(*args, *extra, cwd=project)
        assert refused.returncode == 2, refused.stderr
        assert "no address to mail (no rows" in refused.stderr
    assert not (project / "outbox").exists()
    assert cli.run("check", "--now", NOW, cwd=project).returncode == 2


def test_a_missing_subscriber_file_is_named_before_anything_is_logged(
    project: Path, cli: Cli
) -> None:
    (project / "config" / "subscribers" / "monthly.csv").unlink()
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    refused = cli.run(*args, cwd=project)
    assert refused.returncode == 2
    assert "monthly.csv: subscriber file not found" in refused.stderr
    assert "None" not in refused.stderr


def test_a_theme_column_missing_from_the_file_is_refused_before_anything_is_stored(
    project: Path, cli: Cli
) -> None:
    text = project / "templates" / "digest.txt.j2"
    text.write_text("Hallo {{ subscriber.anrede }}!\n" + text.read_text(encoding="utf-8"))
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")

    refused = cli.run(*args, cwd=project)
    assert refused.returncode == 2, refused.stderr
    assert "the theme uses subscriber.anrede, but" in refused.stderr
    assert "(its header row: email, name, organisation)" in refused.stderr
    assert json.loads(cli.run("status", "--format", "json", cwd=project).stdout or "[]") == []
    checked = cli.run("check", "--now", NOW, cwd=project)
    assert checked.returncode == 2
    assert "subscriber.anrede" in checked.stderr

    csv = project / "config" / "subscribers" / "monthly.csv"
    rows = csv.read_text(encoding="utf-8").splitlines()
    csv.write_text("\n".join([rows[0] + ",anrede", *rows[1:]]) + "\n", encoding="utf-8")
    sent = cli.run(*args, cwd=project)
    assert sent.returncode == 0, sent.stderr


def test_unsubscribed_address_gets_nothing(project: Path, cli: Cli) -> None:
    victim = subscribers(project)[1]
    done = cli.run("unsubscribe", victim.upper(), "--list", "monthly", cwd=project)
    assert done.returncode == 0, done.stderr
    check = cli.run("subscribers", "check", "--list", "monthly", cwd=project)
    assert "suppressed" in check.stderr
    sent = cli.run("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, cwd=project)
    assert sent.returncode == 0, sent.stderr
    box = mailbox.Maildir(project / "outbox", create=False)
    to = {m["To"].lower() for m in box}
    assert not any(victim in addr for addr in to)
    assert len(to) == len(subscribers(project)) - 1


def test_test_copies_do_not_count_as_the_lists_delivery(project: Path, cli: Cli) -> None:
    base = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    test = cli.run(*base, "--to", "redaktion@example.org", cwd=project)
    assert test.returncode == 0, test.stderr
    assert len(list(mailbox.Maildir(project / "outbox", create=False))) == 1
    real = cli.run(*base, cwd=project)
    assert real.returncode == 0, real.stderr
    assert len(list(mailbox.Maildir(project / "outbox", create=False))) == 1 + len(
        subscribers(project)
    )


def test_off_a_terminal_json_logs_are_one_object_a_line(project: Path, cli: Cli) -> None:
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    done = cli.run("--log-format", "json", *args, cwd=project)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert records, "a send logs at least its start and its end"
    assert all({"time", "level", "message"} <= set(r) for r in records)
    (final,) = [r for r in records if r["message"] == "done"]
    assert final["issue"] == ISSUE
    assert final["sent"] == len(subscribers(project))
    assert final["exit"] == 0
    assert not [r for r in records if r["message"] == "invalid row skipped"]

    due = cli.run("--log-format", "json", "run-due", "--now", "2026-11-01T09:00", cwd=project)
    assert due.returncode == 0, due.stderr
    lines = [json.loads(line) for line in due.stderr.splitlines() if line.strip()]
    assert any(r["message"] == "nothing is due" for r in lines)


def test_a_send_names_the_invalid_rows_it_skipped(project: Path, cli: Cli) -> None:
    csv = project / "config" / "subscribers" / "monthly.csv"
    csv.write_text(csv.read_text(encoding="utf-8") + "kein-at.example.org,Kaputt,\n")
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    done = cli.run("--log-format", "json", *args, cwd=project)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    (skipped,) = [r for r in records if r["message"] == "invalid row skipped"]
    rows = len(csv.read_text(encoding="utf-8").splitlines())
    assert skipped["detail"].startswith(f"line {rows}: kein-at.example.org: not a valid address")


def test_status_filters_by_period_and_refuses_a_bad_one(project: Path, cli: Cli) -> None:
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    assert cli.run(*args, cwd=project).returncode == 0
    hit = cli.run("status", "--period", PERIOD, "--format", "json", cwd=project)
    assert [row["id"] for row in json.loads(hit.stdout)] == [ISSUE]
    miss = cli.run("status", "--period", "2026-09", "--format", "json", cwd=project)
    assert json.loads(miss.stdout) == []
    bad = cli.run("status", "--period", "garbage", cwd=project)
    assert bad.returncode == 2
    assert "garbage" in bad.stderr


def test_the_status_table_keeps_ids_and_times_whole_when_piped(project: Path, cli: Cli) -> None:
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    assert cli.run(*args, cwd=project).returncode == 0
    table = cli.run("status", cwd=project).stderr  # a pipe: rich would assume 80 columns
    row = next(line for line in table.splitlines() if ISSUE in line)
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells[:3] == [ISSUE, "finished", "5"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T", cells[-1]), "the site's time zone"
    nothing = cli.run("status", "--period", "2025-01", cwd=project)
    assert (nothing.returncode, nothing.stderr.strip()) == (0, "no issue matches")


def test_answering_no_at_the_prompt_sends_nothing_and_exits_2(project: Path, cli: Cli) -> None:
    import pty

    leader, follower = pty.openpty()
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW)
    with cli.popen(*args, cwd=project, stdin=follower) as proc:
        os.close(follower)
        os.write(leader, b"n\n")
        _, err = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 2, err
    assert "Send monthly-2026-10" in err and "nothing was sent" in err
    assert not (project / "outbox").exists()
