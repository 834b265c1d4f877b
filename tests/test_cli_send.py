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
import shutil
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PERIOD = "2026-10"
ISSUE = f"monthly-{PERIOD}"
NOW = "2026-11-24T12:00"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("config", "content", "templates"):
        shutil.copytree(REPO / name, tmp_path / name)
    return tmp_path


def digestmail(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTMAIL_")}
    return subprocess.run(
        [sys.executable, "-m", "digestmail", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def subscribers(project: Path) -> list[str]:
    lines = (project / "config/subscribers/monthly.csv").read_text(encoding="utf-8").splitlines()
    return [line.split(",")[0].lower() for line in lines[1:] if line.strip()]


def test_build_writes_preview_files_and_records_nothing(project: Path) -> None:
    done = digestmail(project, "build", "--list", "monthly", "--period", PERIOD, "--now", NOW)
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


def test_empty_period_exits_2_unless_allowed(project: Path) -> None:
    done = digestmail(project, "build", "--list", "monthly", "--period", "2017-11", "--now", NOW)
    assert done.returncode == 2
    assert "no tips" in done.stderr and "--allow-empty" in done.stderr
    allowed = digestmail(
        project, "build", "--list", "monthly", "--period", "2017-11", "--now", NOW, "--allow-empty"
    )
    assert allowed.returncode == 0, allowed.stderr
    blank = digestmail(project, "build", "--list", "monthly", "--period", "", "--now", NOW)
    assert blank.returncode == 2, "an empty --period is a mistake, not 'previous'"
    assert "not a period" in blank.stderr


def test_send_delivers_once_per_subscriber_and_a_second_send_nothing(project: Path) -> None:
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    dry = digestmail(project, *args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert not (project / "state").exists(), "a dry run writes nothing"
    assert not (project / "outbox").exists()

    first = digestmail(project, *args)
    assert first.returncode == 0, first.stderr
    box = mailbox.Maildir(project / "outbox", create=False)
    received = sorted(
        email.message_from_bytes(m.as_bytes(), policy=email.policy.default)["To"]
        .addresses[0]
        .addr_spec.lower()
        for m in box
    )
    assert received == sorted(subscribers(project))

    second = digestmail(project, *args)
    assert second.returncode == 0, second.stderr
    assert len(list(mailbox.Maildir(project / "outbox", create=False))) == len(received)

    status = digestmail(project, "status", "--format", "json")
    assert status.returncode == 0, status.stderr
    (row,) = json.loads(status.stdout)
    assert row["id"] == ISSUE
    assert row["status"] == "finished"
    assert row["counts"]["sent"] == len(received)

    archive = project / "archive" / "monthly"
    assert (archive / f"{ISSUE}.html").exists()
    assert ISSUE in (archive / "index.html").read_text(encoding="utf-8")


def test_a_file_without_one_usable_address_never_swallows_the_issue(project: Path) -> None:
    # One column "email" but the rows separated by ';': every row is an invalid address.
    csv = project / "config" / "subscribers" / "monthly.csv"
    good = csv.read_text(encoding="utf-8")
    csv.write_text("email\nanna@example.org;Anna\nbernd@example.org;Bernd\n", encoding="utf-8")
    due = ("run-due", "--now", "2026-11-02T09:00")

    broken = digestmail(project, *due)
    assert broken.returncode == 2, broken.stderr
    assert "monthly.csv: no address to mail (2 invalid row(s)" in broken.stderr
    assert not (project / "outbox").exists()
    status = json.loads(digestmail(project, "status", "--format", "json").stdout)
    assert [(r["id"], r["status"]) for r in status] == [(ISSUE, "open")]
    check = digestmail(project, "subscribers", "check", "--list", "monthly")
    assert check.returncode == 2
    assert "no address to mail" in check.stderr

    csv.write_text(good, encoding="utf-8")
    fixed = digestmail(project, *due)
    assert fixed.returncode == 0, fixed.stderr
    assert len(list(mailbox.Maildir(project / "outbox", create=False))) == len(subscribers(project))


def test_a_finished_issue_sent_again_to_an_emptied_file_is_just_done(project: Path) -> None:
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    assert digestmail(project, *args).returncode == 0
    (project / "config" / "subscribers" / "monthly.csv").write_text("email,name\n")
    for extra in ((), ("--dry-run",)):
        again = digestmail(project, *args, *extra)
        assert again.returncode == 0, again.stderr
        assert "no address to mail" not in again.stderr


def test_a_header_only_file_is_refused_by_send_and_check(project: Path) -> None:
    (project / "config" / "subscribers" / "monthly.csv").write_text("email,name\n")
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    for extra in (("--dry-run",), ()):
        refused = digestmail(project, *args, *extra)
        assert refused.returncode == 2, refused.stderr
        assert "no address to mail (no rows" in refused.stderr
    assert not (project / "outbox").exists()
    assert digestmail(project, "check", "--now", NOW).returncode == 2


def test_a_missing_subscriber_file_is_named_before_anything_is_logged(project: Path) -> None:
    (project / "config" / "subscribers" / "monthly.csv").unlink()
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    refused = digestmail(project, *args)
    assert refused.returncode == 2
    assert "monthly.csv: subscriber file not found" in refused.stderr
    assert "None" not in refused.stderr


def test_a_theme_column_missing_from_the_file_is_refused_before_anything_is_stored(
    project: Path,
) -> None:
    text = project / "templates" / "digest.txt.j2"
    text.write_text("Hallo {{ subscriber.anrede }}!\n" + text.read_text(encoding="utf-8"))
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")

    refused = digestmail(project, *args)
    assert refused.returncode == 2, refused.stderr
    assert "the theme uses subscriber.anrede, but" in refused.stderr
    assert "(its header row: email, name, organisation)" in refused.stderr
    assert json.loads(digestmail(project, "status", "--format", "json").stdout or "[]") == []
    checked = digestmail(project, "check", "--now", NOW)
    assert checked.returncode == 2
    assert "subscriber.anrede" in checked.stderr

    csv = project / "config" / "subscribers" / "monthly.csv"
    rows = csv.read_text(encoding="utf-8").splitlines()
    csv.write_text("\n".join([rows[0] + ",anrede", *rows[1:]]) + "\n", encoding="utf-8")
    sent = digestmail(project, *args)
    assert sent.returncode == 0, sent.stderr


def test_unsubscribed_address_gets_nothing(project: Path) -> None:
    victim = subscribers(project)[1]
    done = digestmail(project, "unsubscribe", victim.upper(), "--list", "monthly")
    assert done.returncode == 0, done.stderr
    check = digestmail(project, "subscribers", "check", "--list", "monthly")
    assert "suppressed" in check.stderr
    sent = digestmail(project, "send", "--list", "monthly", "--period", PERIOD, "--now", NOW)
    assert sent.returncode == 0, sent.stderr
    box = mailbox.Maildir(project / "outbox", create=False)
    to = {m["To"].lower() for m in box}
    assert not any(victim in addr for addr in to)
    assert len(to) == len(subscribers(project)) - 1


def test_test_copies_do_not_count_as_the_lists_delivery(project: Path) -> None:
    base = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    test = digestmail(project, *base, "--to", "redaktion@example.org")
    assert test.returncode == 0, test.stderr
    assert len(list(mailbox.Maildir(project / "outbox", create=False))) == 1
    real = digestmail(project, *base)
    assert real.returncode == 0, real.stderr
    assert len(list(mailbox.Maildir(project / "outbox", create=False))) == 1 + len(
        subscribers(project)
    )


def test_off_a_terminal_json_logs_are_one_object_a_line(project: Path) -> None:
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    done = digestmail(project, "--log-format", "json", *args)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert records, "a send logs at least its start and its end"
    assert all({"time", "level", "message"} <= set(r) for r in records)
    (final,) = [r for r in records if r["message"] == "done"]
    assert final["issue"] == ISSUE
    assert final["sent"] == len(subscribers(project))
    assert final["exit"] == 0
    assert not [r for r in records if r["message"] == "invalid row skipped"]

    due = digestmail(project, "--log-format", "json", "run-due", "--now", "2026-11-01T09:00")
    assert due.returncode == 0, due.stderr
    lines = [json.loads(line) for line in due.stderr.splitlines() if line.strip()]
    assert any(r["message"] == "nothing is due" for r in lines)


def test_a_send_names_the_invalid_rows_it_skipped(project: Path) -> None:
    csv = project / "config" / "subscribers" / "monthly.csv"
    csv.write_text(csv.read_text(encoding="utf-8") + "kein-at.example.org,Kaputt,\n")
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    done = digestmail(project, "--log-format", "json", *args)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    (skipped,) = [r for r in records if r["message"] == "invalid row skipped"]
    rows = len(csv.read_text(encoding="utf-8").splitlines())
    assert skipped["detail"].startswith(f"line {rows}: kein-at.example.org: not a valid address")


def test_status_filters_by_period_and_refuses_a_bad_one(project: Path) -> None:
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    assert digestmail(project, *args).returncode == 0
    hit = digestmail(project, "status", "--period", PERIOD, "--format", "json")
    assert [row["id"] for row in json.loads(hit.stdout)] == [ISSUE]
    miss = digestmail(project, "status", "--period", "2026-09", "--format", "json")
    assert json.loads(miss.stdout) == []
    bad = digestmail(project, "status", "--period", "garbage")
    assert bad.returncode == 2
    assert "garbage" in bad.stderr


def test_the_status_table_keeps_ids_and_times_whole_when_piped(project: Path) -> None:
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW, "--yes")
    assert digestmail(project, *args).returncode == 0
    table = digestmail(project, "status").stderr  # a pipe: rich would assume 80 columns
    row = next(line for line in table.splitlines() if ISSUE in line)
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells[:3] == [ISSUE, "finished", "5"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T", cells[-1]), "the site's time zone"
    nothing = digestmail(project, "status", "--period", "2025-01")
    assert (nothing.returncode, nothing.stderr.strip()) == (0, "no issue matches")


def test_answering_no_at_the_prompt_sends_nothing_and_exits_2(project: Path) -> None:
    import pty

    leader, follower = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGESTMAIL_")}
    args = ("send", "--list", "monthly", "--period", PERIOD, "--now", NOW)
    with subprocess.Popen(
        [sys.executable, "-m", "digestmail", *args],
        cwd=project,
        env=env,
        stdin=follower,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        os.close(follower)
        os.write(leader, b"n\n")
        _, err = proc.communicate(timeout=60)
    os.close(leader)
    assert proc.returncode == 2, err
    assert "Send monthly-2026-10" in err and "nothing was sent" in err
    assert not (project / "outbox").exists()
