"""Issue 14 in the delivery engine: causes that will not go away stop a run at once, our own
refusals are never a recipient's permanent failure, and exit 2 keeps meaning "nothing sent".

Runs in this process against a real Maildir and a real SQLite ledger; the tmpfs variants (a
real full file system) are in tests/cli/test_full_disk.py.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import mailbox
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from digestmail.config import Config, load_config
from digestmail.deliver.counts import Outcome
from digestmail.deliver.job import FactoryMaker, SendJob
from digestmail.deliver.recipients import LOOKUP_CHUNK
from digestmail.deliver.send import DeliveryReport, make_transport, send_issue
from digestmail.deliver.transports.base import Transport
from digestmail.deliver.transports.memory import MemoryTransport
from digestmail.errors import (
    ExitCode,
    HeaderInjectionError,
    LedgerStorageError,
    LocalTransportError,
    RefusedBeforeSending,
    SendStoppedError,
    SubscriberError,
)
from digestmail.ledger.store import Ledger
from digestmail.models import DeliveryStatus, OutgoingMessage, Recipient
from digestmail.subscribers.reader import SubscriberProblem, read_subscribers
from tests.helpers.mail import TinyFactory, make_issue
from tests.helpers.project import MakeProject

Rows = Iterable[Recipient | SubscriberProblem]


def people(n: int) -> list[str]:
    return [f"leser{i:05d}@example.net" for i in range(n)]


def project(make_project: MakeProject, emails: list[str]) -> Config:
    rows = "".join(f"{e},Leser {i}\n" for i, e in enumerate(emails))
    return load_config(make_project(subscribers="email,name\n" + rows))


def send(
    config: Config,
    *,
    transport: Transport | None = None,
    make_factory: FactoryMaker = TinyFactory,
    recipients: Rows | None = None,
    ledger: Ledger | None = None,
) -> DeliveryReport:
    list_cfg = config.get_list("monthly")
    own = ledger is None
    ledger = ledger or Ledger.open(config.state.path)
    try:
        return asyncio.run(
            send_issue(
                SendJob(config, list_cfg, make_issue(), ledger),
                transport=transport or make_transport(config),
                make_factory=make_factory,
                recipients=recipients or read_subscribers(list_cfg.subscribers),
            )
        )
    finally:
        if own:
            ledger.close()


def in_maildir(config: Config) -> collections.Counter[str]:
    box = mailbox.Maildir(config.transport.maildir, create=False)
    return collections.Counter(str(m["To"]) for m in box)


def statuses(config: Config) -> collections.Counter[str]:
    with Ledger.open(config.state.path) as ledger:
        counts = ledger.counts("monthly-2017-11")
    return collections.Counter({s.value: n for s, n in counts.items() if n})


# --- a destination that refuses every message alike --------------------------------------------


@pytest.mark.parametrize(
    "code", [errno.ENOSPC, errno.EROFS, errno.EACCES, errno.ENOTDIR, errno.EDQUOT, errno.EIO]
)
def test_a_maildir_that_refuses_every_write_stops_the_run_at_the_first_one(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    emails = people(300)
    config = project(make_project, emails)
    real_add = mailbox.Maildir.add
    writes = 0

    def add(box: mailbox.Maildir, message: bytes) -> str:
        nonlocal writes
        writes += 1
        if writes > 40:
            raise OSError(code, f"simulated {errno.errorcode[code]}")
        return real_add(box, message)

    monkeypatch.setattr(mailbox.Maildir, "add", add)
    with pytest.raises(LocalTransportError) as info:
        send(config)

    assert info.value.exit_code == ExitCode.TEMPFAIL
    assert str(info.value).startswith(f"{config.transport.maildir}: cannot write a message:")
    assert f"({errno.errorcode[code]})" in str(info.value)
    assert writes == 41  # stopped at the first refusal: not one more try
    after = statuses(config)
    assert after["sent"] == 40 and set(after) == {"sent", "queued"}  # nothing failed at all

    monkeypatch.setattr(mailbox.Maildir, "add", real_add)
    again = send(config)

    assert (again.exit_code, again.counts[Outcome.ALREADY_SENT]) == (0, 40)
    assert in_maildir(config) == collections.Counter(emails)
    assert statuses(config) == {"sent": 300}


def test_an_error_that_may_pass_is_still_retried_per_message(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = project(make_project, people(3))
    real_add = mailbox.Maildir.add
    failures = iter([True, False, False, False])

    def add(box: mailbox.Maildir, message: bytes) -> str:
        if next(failures, False):
            raise OSError(errno.EAGAIN, "try again")
        return real_add(box, message)

    monkeypatch.setattr(mailbox.Maildir, "add", add)
    monkeypatch.setattr("digestmail.deliver.workers.backoff_delay", lambda *a, **k: 0.01)

    report = send(config)

    assert report.exit_code == 0 and report.counts[Outcome.SENT] == 3


# --- a full ledger -----------------------------------------------------------------------------


def test_a_full_ledger_stops_with_exit_75_and_the_resume_resends_at_most_one(
    make_project: MakeProject,
) -> None:
    """SQLite's own SQLITE_FULL, without root: ``max_page_count`` caps the file's size."""
    emails = people(1200)
    config = project(make_project, emails)
    with Ledger.open(config.state.path) as ledger:
        ledger.store_issue(make_issue(), content_hash="")  # the issue fits; the rows will not
        db: sqlite3.Connection = ledger._db
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + 30}")
        with pytest.raises(LedgerStorageError) as info:
            send(config, ledger=ledger)

    assert info.value.exit_code == ExitCode.TEMPFAIL
    assert str(info.value).startswith(
        f"{config.state.path}: cannot write the ledger: its file system is full"
    )
    first = sum(in_maildir(config).values())
    assert 0 < first < len(emails)

    again = send(config)

    assert again.exit_code == 0
    counts = in_maildir(config)
    assert set(counts) == set(emails)
    assert sum(counts.values()) - len(emails) <= 1  # one connection: at most one in flight
    assert statuses(config) == {"sent": len(emails)}


# --- exit 2 means nothing was sent --------------------------------------------------------------


def broken_after(n: int) -> Iterator[Recipient]:
    for i in range(n):
        yield Recipient(email=f"leser{i:05d}@example.net", line=i + 2)
    raise SubscriberError("cannot read the subscriber file: I/O error", path=Path("s.csv"))


def test_a_subscriber_error_after_messages_went_out_is_exit_75(
    make_project: MakeProject,
) -> None:
    config = project(make_project, [])
    transport = MemoryTransport(connections=2)

    with pytest.raises(SendStoppedError) as info:
        send(config, transport=transport, recipients=broken_after(LOOKUP_CHUNK + 50))

    assert info.value.exit_code == ExitCode.TEMPFAIL
    assert isinstance(info.value.cause, SubscriberError)
    assert "s.csv: cannot read the subscriber file" in str(info.value)
    assert "run the same command again to resume" in str(info.value)
    assert transport.sent  # something went out: exit 2 would be a lie


def test_a_subscriber_error_before_anything_went_out_stays_exit_2(
    make_project: MakeProject,
) -> None:
    config = project(make_project, [])
    transport = MemoryTransport(connections=2)

    with pytest.raises(SubscriberError) as info:
        send(config, transport=transport, recipients=broken_after(3))

    assert info.value.exit_code == ExitCode.USAGE and not transport.sent


# --- our own refusals --------------------------------------------------------------------------


class PickyFactory(TinyFactory):
    """Refuses one address as the message factory refuses a name with a control character."""

    refuse: ClassVar[set[str]] = set()

    def build(self, recipient: Recipient) -> OutgoingMessage:
        if recipient.email in self.refuse:
            raise HeaderInjectionError(f"header To: value {recipient.name!r} contains a NUL")
        return super().build(recipient)


def test_a_message_our_own_check_refuses_is_left_to_retry_not_failed_for_good(
    make_project: MakeProject,
) -> None:
    emails = people(5)
    config = project(make_project, emails)
    PickyFactory.refuse = {emails[2]}

    first = send(config, make_factory=PickyFactory)

    assert first.exit_code == ExitCode.TEMPFAIL  # the issue stays open: the next run tries it
    assert (first.counts[Outcome.SENT], first.counts[Outcome.LEFT_TO_RETRY]) == (4, 1)
    assert first.counts[Outcome.FAILED_PERMANENT] == 0
    (row,) = first.invalid_rows
    assert row.startswith(f"line 4: {emails[2]}: refused by digestmail before sending: header To")
    with Ledger.open(config.state.path) as ledger:
        state = ledger.delivery_states("monthly-2017-11", [emails[2]])[emails[2]]
    assert state.status is DeliveryStatus.FAILED_TEMPORARY
    assert "fix the row" in state.last_reply

    PickyFactory.refuse = set()  # the row was fixed
    again = send(config, make_factory=PickyFactory)

    assert (again.exit_code, again.counts[Outcome.SENT]) == (0, 1)
    assert in_maildir(config) == collections.Counter(emails)


def test_our_own_553_for_an_address_is_not_the_recipients_permanent_failure(
    make_project: MakeProject,
) -> None:
    emails = people(4)
    config = project(make_project, emails)
    bad = emails[1]

    def fault(message: OutgoingMessage, before: int) -> RefusedBeforeSending | None:
        if message.email != bad:
            return None
        return RefusedBeforeSending(
            "control characters in an address", recipient=bad, code=553, reply="5.1.3 refused"
        )

    first = send(config, transport=MemoryTransport(connections=1, fault=fault))

    assert first.counts[Outcome.FAILED_PERMANENT] == 0
    assert first.counts[Outcome.LEFT_TO_RETRY] == 1 and first.exit_code == ExitCode.TEMPFAIL
    with Ledger.open(config.state.path) as ledger:
        assert not ledger.is_suppressed(bad, list_key="monthly")

    fixed = MemoryTransport(connections=1)
    again = send(config, transport=fixed)

    assert [c.message.email for c in fixed.sent] == [bad]
    assert again.exit_code == 0
