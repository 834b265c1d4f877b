"""``digestmail status`` shows the bounces the inbox matched to each issue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from digestmail.config import Config, load_config
from tests.helpers.cli import Cli
from tests.helpers.inbox import (
    INBOX_CONFIG,
    SECRET,
    bounce,
    csv_of,
    drop,
    people,
    record_send,
    run_inbox,
)
from tests.helpers.project import MakeProject

READERS = people(5)
ENV = {"DIGESTMAIL_SECRET": SECRET}


@pytest.fixture
def project(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("DIGESTMAIL_SECRET", SECRET)
    return load_config(make_project(subscribers=csv_of(READERS), extra_config=INBOX_CONFIG))


def root_of(config: Config) -> Path:
    return config.path.parent.parent


def test_status_counts_hard_and_soft_bounces_per_issue(project: Config, cli: Cli) -> None:
    assert project.inbox is not None
    older = record_send(project, READERS, "2017-10")
    newer = record_send(project, READERS, "2017-11")
    drop(
        project.inbox.maildir,
        bounce("dsn_511.eml", newer[READERS[0]]),
        bounce("verp_only.eml", newer[READERS[1]]),
        bounce("dsn_422_delayed.eml", newer[READERS[2]]),
        bounce("dsn_message_id_only.eml", older[READERS[3]]),
    )
    report = run_inbox(project)
    assert report.outcomes == {"hard": 3, "soft": 1}
    shown = cli.run("status", "--format", "json", env=ENV, cwd=root_of(project))
    assert shown.returncode == 0, shown.stderr
    rows = {row["id"]: row["bounces"] for row in json.loads(shown.stdout)}
    assert rows == {
        "monthly-2017-11": {"hard": 2, "soft": 1},
        "monthly-2017-10": {"hard": 1, "soft": 0},
    }
    table = cli.run("status", env=ENV, cwd=root_of(project)).stderr
    header = next(line for line in table.splitlines() if "issue" in line and "┃" in line)
    assert [c.strip() for c in header.split("┃")[1:-1]][-2:] == ["bounced", "finished"]
    cells = {
        cells[0]: cells[-2]
        for line in table.splitlines()
        if "monthly-" in line
        for cells in [[c.strip() for c in line.split("│")[1:-1]]]
    }
    assert cells == {"monthly-2017-11": "2 +1 soft", "monthly-2017-10": "1"}


def test_status_shows_zero_bounces_before_any_inbox_run(project: Config, cli: Cli) -> None:
    record_send(project, READERS)
    shown = cli.run("status", "--format", "json", env=ENV, cwd=root_of(project))
    assert shown.returncode == 0, shown.stderr
    assert [row["bounces"] for row in json.loads(shown.stdout)] == [{"hard": 0, "soft": 0}]
