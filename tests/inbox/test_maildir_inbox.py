"""Each hand-written bounce or reply, fed through a Maildir, ends in exactly its suppression."""

from __future__ import annotations

from pathlib import Path

import pytest

from digestmail.config import Config, load_config
from tests.helpers.inbox import (
    INBOX_CONFIG,
    SECRET,
    bounce,
    csv_of,
    drop,
    outbox,
    people,
    record_send,
    run_inbox,
    suppressions,
)
from tests.helpers.project import MakeProject

READERS = people(10)

CASES = [
    # fixture, index of the reader it is about, expected source (None: no suppression), outcome
    ("dsn_511.eml", 0, "bounce", "hard"),
    ("dsn_422_delayed.eml", 1, None, "soft"),
    ("postfix_style.eml", 2, "bounce", "hard"),
    ("exim_style.eml", 3, "bounce", "hard"),
    ("dsn_message_id_only.eml", 4, "bounce", "hard"),
    ("verp_only.eml", 5, "bounce", "hard"),
    ("policy_571.eml", 6, None, "refused for content"),
    ("out_of_office.eml", 7, None, "autoreply"),
    ("unsubscribe_subscriber.eml", 8, "reply", "unsubscribe"),
]


@pytest.fixture
def project(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("DIGESTMAIL_SECRET", SECRET)
    return load_config(make_project(subscribers=csv_of(READERS), extra_config=INBOX_CONFIG))


@pytest.mark.parametrize(("name", "who", "source", "outcome"), CASES)
def test_each_message_ends_in_its_suppression_or_none(
    project: Config, name: str, who: int, source: str | None, outcome: str
) -> None:
    sent = record_send(project, READERS)
    assert project.inbox is not None
    drop(project.inbox.maildir, bounce(name, sent[READERS[who]]))
    report = run_inbox(project)
    assert dict(report.outcomes) == {outcome: 1}
    expected = {(READERS[who], "monthly", source)} if source else set()
    assert suppressions(project) == expected
    moved = len(list((project.inbox.maildir / ".done" / "cur").iterdir()))
    assert moved == (1 if outcome in ("hard", "soft", "unsubscribe") else 0)


def test_a_stranger_unsubscribing_changes_nothing(project: Config) -> None:
    record_send(project, READERS)
    assert project.inbox is not None
    drop(project.inbox.maildir, bounce("unsubscribe_stranger.eml"))
    report = run_inbox(project)
    assert dict(report.outcomes) == {"not a subscriber": 1}
    assert suppressions(project) == set()
    assert outbox(project) == []


def test_unsubscribe_reply_is_confirmed_by_mail(project: Config) -> None:
    sent = record_send(project, READERS)
    assert project.inbox is not None
    drop(project.inbox.maildir, bounce("unsubscribe_subscriber.eml", sent[READERS[8]]))
    run_inbox(project)
    (confirmation,) = outbox(project)
    assert b"To: " + READERS[8].encode() in confirmation
    assert b"Subject: Unsubscribed" in confirmation or b"Abmeldung" in confirmation


def test_malformed_message_is_reported_and_left_and_the_run_goes_on(project: Config) -> None:
    sent = record_send(project, READERS)
    assert project.inbox is not None
    drop(project.inbox.maildir, bounce("malformed.eml"), bounce("dsn_511.eml", sent[READERS[0]]))
    report = run_inbox(project)
    assert report.malformed == ["<malformed.1@broken.example.net>"]
    assert report.outcomes["hard"] == 1
    assert len(list((project.inbox.maildir / "new").iterdir())) == 1


def test_the_whole_mailbox_twice_changes_nothing(project: Config, tmp_path: Path) -> None:
    sent = record_send(project, READERS)
    assert project.inbox is not None
    box = project.inbox.maildir
    messages = [bounce(name, sent[READERS[who]]) for name, who, _, _ in CASES]
    drop(box, *messages)
    drop(box, bounce("unsubscribe_stranger.eml"), bounce("malformed.eml"))
    first = run_inbox(project)
    after_first = suppressions(project)
    assert {e for e, _, _ in after_first} == {READERS[i] for i in (0, 2, 3, 4, 5, 8)}
    # The same mail again (a crash before the move, a duplicate delivery): counted once.
    drop(box, *messages)
    second = run_inbox(project)
    assert suppressions(project) == after_first
    # Re-dropped ones, and the three left in place the first time (5.7.1, out of office,
    # the stranger's request): all known, none counted again.
    assert second.outcomes["already seen"] == len(CASES) + 3
    assert second.malformed == first.malformed
    assert len(outbox(project)) == 1  # one confirmation, not two


def test_dry_run_writes_and_moves_nothing(project: Config) -> None:
    sent = record_send(project, READERS)
    assert project.inbox is not None
    drop(project.inbox.maildir, bounce("dsn_511.eml", sent[READERS[0]]))
    report = run_inbox(project, dry_run=True)
    assert report.outcomes["hard"] == 1 and report.suppressed["bounce"] == 1
    assert suppressions(project) == set()
    assert len(list((project.inbox.maildir / "new").iterdir())) == 1


def test_soft_bounces_in_three_distinct_issues_suppress(project: Config) -> None:
    assert project.inbox is not None
    for month, period in enumerate(("2017-09", "2017-10", "2017-11"), 1):
        sent = record_send(project, READERS, period)
        drop(
            project.inbox.maildir,
            bounce("dsn_422_delayed.eml", sent[READERS[1]]).replace(
                b"dsn-422.1@", f"dsn-422.{month}@".encode()
            ),
        )
        run_inbox(project)
        expected = {(READERS[1], "monthly", "bounce")} if month == 3 else set()
        assert suppressions(project) == expected
