"""A list whose CSV has no valid row but which has confirmed web sign-ups is mailed to them.

"No address to mail" guards against a broken file swallowing an issue; a list that lives on
sign-ups alone (a header-only file, or one whose rows are all invalid) still has readers.
"""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digestmail.ledger import Ledger, Subscription
from tests.helpers.cli import Cli
from tests.helpers.project import MakeProject

NOW = "2026-11-02T09:00"
ARGS = ("send", "--list", "monthly", "--period", "2026-10", "--now", NOW, "--yes")
TIP = """---
title: Ein Tipp
date: 2026-10-05
categories: [veranstaltungstipp]
---
Text.
"""


def signed_up(config: Path, *emails: str) -> None:
    from digestmail.config import load_config

    now = datetime.now(UTC)
    with Ledger.open(load_config(config).state.path) as ledger:
        for email in emails:
            ledger.subscribe(Subscription(email, "monthly", "", now, now))


def mailed(project: Path) -> list[str]:
    box = mailbox.Maildir(project / "outbox", create=False)
    return sorted(str(m["To"]) for m in box)


@pytest.mark.parametrize(
    "csv", ["email,name\n", "email\nanna@example.org;Anna\nbernd@example.org;Bernd\n"]
)
def test_sign_ups_are_mailed_when_the_file_has_no_valid_row(
    make_project: MakeProject, cli: Cli, csv: str
) -> None:
    config = make_project(subscribers=csv, posts={"veranstaltungstipp/tipp.md": TIP})
    project = config.parent.parent
    signed_up(config, "web.reader@example.org", "zweite@example.org")

    done = cli.invoke(*ARGS, cwd=project)

    assert done.exit_code == 0, done.output
    assert mailed(project) == ["web.reader@example.org", "zweite@example.org"]


def test_a_file_without_rows_and_without_sign_ups_is_still_refused(
    make_project: MakeProject, cli: Cli
) -> None:
    config = make_project(subscribers="email,name\n", posts={"veranstaltungstipp/tipp.md": TIP})
    refused = cli.invoke(*ARGS, cwd=config.parent.parent)
    assert refused.exit_code == 2
    assert "no address to mail" in refused.output


def test_check_and_subscribers_check_accept_a_header_only_file_with_sign_ups(
    make_project: MakeProject, cli: Cli
) -> None:
    config = make_project(subscribers="email,name\n", posts={"veranstaltungstipp/tipp.md": TIP})
    project = config.parent.parent
    before = cli.invoke("subscribers", "check", "--list", "monthly", cwd=project)
    assert before.exit_code == 2 and "no address to mail" in before.output
    assert "no address to mail" in cli.invoke("check", cwd=project).output

    signed_up(config, "web.reader@example.org")

    listed = cli.invoke("subscribers", "check", "--list", "monthly", cwd=project)
    assert listed.exit_code == 0, listed.output
    assert "no address to mail" not in listed.output
    checked = cli.invoke("check", cwd=project)
    assert "no address to mail" not in checked.output, checked.output
