"""A batch of messages is one ledger commit, moved only after it: a run cut short anywhere, then
run again, ends in exactly the suppressions of an uninterrupted run, each bounce counted once.

The mailbox: 3 issues sent to 40 readers; readers 0-9 bounce hard, readers 10-19 bounce softly
in all three issues (the third suppresses them, ``soft_bounce_limit`` 3), readers 20-24 reply
"unsubscribe", plus out-of-office replies, a stranger's request, malformed mail, and every
fifth message delivered twice (the same Message-ID). Cut short: a crash while moving (after a
batch's commit), a crash while reading (before the commit), and a real SIGKILL of
``digestmail inbox`` in a process of its own.
"""

from __future__ import annotations

import contextlib
import email
import re
import signal
import sqlite3
import time
from collections.abc import Iterator, Sequence

import pytest

import digestmail.app.inbox.process as process
from digestmail.config import Config, load_config
from digestmail.inbound.base import InboxItem
from digestmail.inbound.maildir import MaildirMailbox
from digestmail.ledger.store import Ledger
from tests.helpers.cli import Cli
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

READERS = people(40)
PERIODS = ("2017-09", "2017-10", "2017-11")
HARD, SOFT, UNSUBSCRIBE = range(0, 10), range(10, 20), range(20, 25)
EXPECTED = {(READERS[i], "monthly", "bounce") for i in [*HARD, *SOFT]} | {
    (READERS[i], "monthly", "reply") for i in UNSUBSCRIBE
}
EXPECTED_BOUNCES = {  # issue -> (hard, soft): each bounce counted once, whatever happened
    "monthly-2017-09": (0, 10),
    "monthly-2017-10": (0, 10),
    "monthly-2017-11": (10, 10),
}
_MESSAGE_ID = re.compile(rb"^Message-ID: <[^>]*>", re.MULTILINE)


class Crash(BaseException):
    """A stand-in for the process dying: nothing in the inbox catches a BaseException."""


def unique(data: bytes, n: int) -> bytes:
    """A copy with a Message-ID of its own, keeping the fixture's (``<ooo.42.7@...>``)."""
    found = _MESSAGE_ID.search(data)
    assert found is not None
    own = found.group(0).split(b"@")[0] + f".{n}@mx.example.net>".encode()
    return data[: found.start()] + own + data[found.end() :]


def fill(config: Config, *, padding: int = 0) -> int:
    """Send three issues, drop the mailbox described above; returns the number of files.

    ``padding`` more out-of-office replies are spread between the others.
    """
    sent = {period: record_send(config, READERS, period) for period in PERIODS}
    newest = sent[PERIODS[-1]]
    mails = [bounce("dsn_511.eml", newest[READERS[i]]) for i in HARD]
    mails += [bounce("dsn_422_delayed.eml", sent[p][READERS[i]]) for p in PERIODS for i in SOFT]
    mails += [bounce("unsubscribe_subscriber.eml", newest[READERS[i]]) for i in UNSUBSCRIBE]
    mails += [bounce("out_of_office.eml", newest[READERS[i]]) for i in range(25, 35)]
    mails += [bounce("unsubscribe_stranger.eml"), bounce("malformed.eml")]
    reply = bounce("out_of_office.eml", newest[READERS[35]])
    files = []
    for n, data in enumerate(mails):
        files.append(unique(data, n))
        if n % 5 == 0:
            files.append(unique(data, n))  # the same message twice
        files += [unique(reply, 1000 * (n + 1) + k) for k in range(padding // len(mails))]
    assert config.inbox is not None
    drop(config.inbox.maildir, *files)
    return len(files)


def bounce_counts(config: Config) -> dict[str, tuple[int, int]]:
    with Ledger.open(config.state.path) as ledger:
        return ledger.inbox.bounces_per_issue()


def assert_moved_only_when_known(config: Config) -> None:
    """The crash-safety rule: no message is in the done folder unless the ledger has it."""
    assert config.inbox is not None
    with Ledger.open(config.state.path) as ledger:
        for path in (config.inbox.maildir / ".done" / "cur").iterdir():
            msg = email.message_from_bytes(path.read_bytes())
            assert ledger.inbox.outcome(f"mid:{msg['Message-ID']}") is not None, path.name


def assert_as_if_never_interrupted(config: Config) -> None:
    assert suppressions(config) == EXPECTED
    assert bounce_counts(config) == EXPECTED_BOUNCES
    assert config.inbox is not None
    left = [
        email.message_from_bytes(p.read_bytes()) for p in (config.inbox.maildir / "new").iterdir()
    ]
    # For a person: out of office, the stranger's request, the malformed message (some twice).
    assert all(
        str(m["Message-ID"]).startswith(("<ooo.", "<unsub.stranger.", "<malformed.")) for m in left
    )
    confirmed = [email.message_from_bytes(m)["To"] for m in outbox(config)]
    assert len(confirmed) == len(set(confirmed)) <= len(UNSUBSCRIBE)  # never one twice


class Faulty:
    """The real Maildir mailbox, dying at a chosen point (after ``read`` messages were read,
    or on the ``move``-th batch move)."""

    def __init__(self, box: MaildirMailbox, *, read: int = -1, move: int = -1) -> None:
        self.box, self.read, self.move = box, read, move
        self.moves = 0

    @property
    def where(self) -> str:
        return self.box.where

    def open(self) -> None:
        self.box.open()

    def messages(self) -> Iterator[InboxItem]:
        for n, item in enumerate(self.box.messages()):
            if n == self.read:
                raise Crash
            yield item

    def done(self, refs: Sequence[str]) -> None:
        self.moves += 1
        if self.moves == self.move:
            self.box.done(refs[: len(refs) // 2])  # died half-way through the moves
            raise Crash
        self.box.done(refs)

    def close(self) -> None:
        self.box.close()


@pytest.fixture
def project(make_project: MakeProject, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("DIGESTMAIL_SECRET", SECRET)
    return load_config(make_project(subscribers=csv_of(READERS), extra_config=INBOX_CONFIG))


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of 7 messages, so the mailbox takes a dozen of them."""
    monkeypatch.setattr(process, "BATCH_MESSAGES", 7)
    monkeypatch.setattr(process, "BATCH_SECONDS", 3600.0)
    monkeypatch.setattr(process, "READ_MESSAGES", 3)


def run_faulty(config: Config, **where: int) -> None:
    import asyncio

    from digestmail.app.inbox.process import InboxRun

    assert config.inbox is not None
    mailbox = Faulty(MaildirMailbox(config.inbox.maildir), **where)
    with Ledger.open(config.state.path) as ledger, pytest.raises(Crash):
        asyncio.run(InboxRun(config, ledger).run(mailbox))


def test_one_uninterrupted_run_gives_the_expected_state(
    project: Config, small_batches: None
) -> None:
    total = fill(project)
    report = run_inbox(project)
    assert sum(report.outcomes.values()) == total
    assert report.outcomes["already seen"] > 0  # the duplicates, within a batch and across
    assert_as_if_never_interrupted(project)
    assert len(outbox(project)) == len(UNSUBSCRIBE)


@pytest.mark.parametrize("move", [1, 3, 5])
def test_a_crash_after_a_commit_counts_every_message_once(
    project: Config, small_batches: None, move: int
) -> None:
    fill(project)
    run_faulty(project, move=move)
    assert_moved_only_when_known(project)
    committed = bounce_counts(project)
    assert committed and committed != EXPECTED_BOUNCES  # the run did stop part-way
    again = run_inbox(project)
    assert again.outcomes["already seen"] > 0  # the committed batch's unmoved messages
    assert_as_if_never_interrupted(project)


@pytest.mark.parametrize("read", [2, 17, 40])
def test_a_crash_before_a_commit_loses_nothing(
    project: Config, small_batches: None, read: int
) -> None:
    assert project.inbox is not None
    total = fill(project)
    run_faulty(project, read=read)
    assert_moved_only_when_known(project)
    with contextlib.closing(sqlite3.connect(project.state.path)) as db:
        remembered = db.execute("SELECT count(*) FROM inbox_messages").fetchone()[0]
    assert remembered < read  # the batch being handled was not committed
    in_place = len(list((project.inbox.maildir / "new").iterdir()))
    assert in_place > total - read
    run_inbox(project)
    assert_as_if_never_interrupted(project)


def test_digestmail_inbox_killed_mid_run_then_run_again(
    make_project: MakeProject, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real kill (SIGKILL, no clean-up of any kind) of ``digestmail inbox`` with the shipped
    batch size, as soon as its first batch is moved; the next run finishes the job."""
    config_path = make_project(subscribers=csv_of(READERS), extra_config=INBOX_CONFIG)
    monkeypatch.setenv("DIGESTMAIL_SECRET", SECRET)  # for this process's record_send
    config = load_config(config_path)
    fill(config, padding=1200)  # several batches, bounces in each
    assert config.inbox is not None
    done = config.inbox.maildir / ".done" / "cur"
    env = {"DIGESTMAIL_SECRET": SECRET}
    child = cli.popen("inbox", env=env, cwd=config_path.parent.parent)
    try:
        deadline = time.monotonic() + 60
        while not (done.exists() and any(done.iterdir())) and child.poll() is None:
            assert time.monotonic() < deadline, "the first batch was never moved"
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
        assert child.stdout is not None and child.stderr is not None
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert_moved_only_when_known(config)
    again = cli.invoke("inbox", env=env, cwd=config_path.parent.parent)
    assert again.exit_code == 0, again.output
    assert_as_if_never_interrupted(config)
    third = cli.invoke("inbox", env=env, cwd=config_path.parent.parent)
    assert "hard bounces" not in third.output and "already handled" in third.output


def test_soft_bounces_in_one_batch_count_together(project: Config) -> None:
    """Three soft bounces of one reader in three issues, all in one batch (none committed
    before the third is read): the third suppresses, as it would one run at a time."""
    sent = {period: record_send(project, READERS, period) for period in PERIODS}
    assert project.inbox is not None
    drop(
        project.inbox.maildir,
        *(
            unique(bounce("dsn_422_delayed.eml", sent[p][READERS[1]]), n)
            for n, p in enumerate(PERIODS)
        ),
    )
    report = run_inbox(project)
    assert report.outcomes == {"soft": 3}
    assert suppressions(project) == {(READERS[1], "monthly", "bounce")}
    assert bounce_counts(project) == {f"monthly-{p}": (0, 1) for p in PERIODS}
