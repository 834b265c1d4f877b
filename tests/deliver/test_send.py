"""The delivery engine against a real SMTP server and a real SQLite ledger.

Every test writes a project (config, subscriber CSV) under tmp_path, sends through aiosmtpd
on 127.0.0.1 with STARTTLS and AUTH, and checks what arrived and what the ledger says.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest

from digestmail.config import Config, load_config
from digestmail.deliver.counts import Counts, Outcome, ProgressEvent
from digestmail.deliver.job import FactoryMaker, SendJob
from digestmail.deliver.recipients import LOOKUP_CHUNK
from digestmail.deliver.send import (
    DeliveryReport,
    make_transport,
    send_issue,
    send_test_copies,
)
from digestmail.deliver.transports.base import Connection, Gate, SendResult, Transport
from digestmail.deliver.transports.maildir import MaildirTransport
from digestmail.errors import LockHeldError, TransportError, TransportSetupError
from digestmail.ledger.store import Ledger
from digestmail.models import DeliveryStatus, Issue, OutgoingMessage, Recipient
from digestmail.subscribers.reader import read_subscribers
from tests.helpers.mail import TinyFactory, make_issue
from tests.helpers.paths import REPO
from tests.helpers.project import BASE_CONFIG, MakeProject
from tests.helpers.smtp_server import Faults, SmtpTestServer

ALREADY_FAILED = Outcome.ALREADY_FAILED
ALREADY_SENT = Outcome.ALREADY_SENT
DUPLICATE = Outcome.DUPLICATE
FAILED_PERMANENT = Outcome.FAILED_PERMANENT
INVALID = Outcome.INVALID
LEFT_TO_RETRY = Outcome.LEFT_TO_RETRY
SENT = Outcome.SENT
SUPPRESSED = Outcome.SUPPRESSED


def csv_of(emails: list[str]) -> str:
    return "email,name\n" + "".join(f"{e},Person {i}\n" for i, e in enumerate(emails))


def smtp_project(
    make_project: MakeProject, server: SmtpTestServer, emails: list[str], **smtp: object
) -> Config:
    extra = server.smtp_config(**smtp) + '\n[transport]\nkind = "smtp"\n'
    return load_config(make_project(subscribers=csv_of(emails), extra_config=extra))


def send(
    config: Config,
    *,
    issue: Issue | None = None,
    transport: Transport | None = None,
    dry_run: bool = False,
    stop: asyncio.Event | None = None,
    make_factory: FactoryMaker = TinyFactory,
    on_progress: Callable[[ProgressEvent], None] | None = None,
) -> DeliveryReport:
    list_cfg = config.get_list("monthly")
    with Ledger.open(config.state.path) as ledger:
        return asyncio.run(
            send_issue(
                SendJob(
                    config,
                    list_cfg,
                    issue or make_issue(),
                    ledger,
                    dry_run=dry_run,
                    stop=stop or asyncio.Event(),
                    on_progress=on_progress,
                ),
                transport=transport or make_transport(config),
                make_factory=make_factory,
                recipients=read_subscribers(list_cfg.subscribers),
            )
        )


def message_factory(config: Config) -> FactoryMaker:
    """The real message factory for the project's list, as the CLI makes it."""
    from digestmail.message.factory import MessageFactory

    list_cfg = config.get_list("monthly")

    def make(issue: Issue) -> MessageFactory:
        return MessageFactory(issue, config=config, list_cfg=list_cfg, secret=None)

    return make


def send_copies(config: Config, addresses: list[str]) -> DeliveryReport:
    with Ledger.open(config.state.path) as ledger:
        return asyncio.run(
            send_test_copies(
                SendJob(
                    config,
                    config.get_list("monthly"),
                    make_issue(),
                    ledger,
                    test_addresses=tuple(addresses),
                ),
                transport=make_transport(config),
                make_factory=message_factory(config),
            )
        )


def statuses(
    config: Config, emails: list[str], issue_id: str = "monthly-2017-11"
) -> dict[str, DeliveryStatus]:
    with Ledger.open(config.state.path) as ledger:
        return {e: d.status for e, d in ledger.delivery_states(issue_id, emails).items()}


def people(n: int) -> list[str]:
    return [f"person{i}@example.net" for i in range(n)]


def test_full_send_delivers_one_message_per_valid_subscriber(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    from digestmail.message.factory import MessageFactory

    emails = people(30)
    rows = [*emails, "not an address", emails[3].upper()]
    config = smtp_project(make_project, smtp_server, rows)
    list_cfg = config.get_list("monthly")

    def real_factory(issue: Issue) -> MessageFactory:
        return MessageFactory(issue, config=config, list_cfg=list_cfg, secret=None)

    report = send(config, make_factory=real_factory)

    assert report.exit_code == 0
    assert report.counts[SENT] == 30
    assert report.counts[INVALID] == 1
    (row,) = report.invalid_rows
    assert row.startswith("line 32: not an address: not a valid address")
    assert report.counts[DUPLICATE] == 1
    assert sorted(smtp_server.recipients()) == sorted(emails)
    message_ids = set()
    for received in smtp_server.received:
        message = received.parse()
        assert message["To"].addresses[0].addr_spec == received.rcpt_tos[0]
        assert message["From"].addresses[0].addr_spec == "tipps@example.org"
        assert message["Subject"] == "Veranstaltungstipps – November 2017"
        assert "abmelden@example.org" in message["List-Unsubscribe"]
        assert message["List-Id"]
        assert message.get_content_type() == "multipart/alternative"
        plain = message.get_body(("plain",))
        assert plain is not None and "Tipps" in plain.get_content()
        message_ids.add(message["Message-ID"])
        assert received.mail_from == "tipps@example.org"
    assert len(message_ids) == 30
    assert set(statuses(config, emails).values()) == {DeliveryStatus.SENT}
    assert smtp_server.connections <= 4


def test_internationalised_domains_are_sent_in_their_ascii_form(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    # A German list may well have umlaut domains; without SMTPUTF8 they travel as IDNA.
    rows = ["anna@bücher.example", "Bernd@XN--BCHER-KVA.example", "jürgen@example.org"]
    extra = smtp_server.smtp_config() + '\n[transport]\nkind = "smtp"\n'
    base = BASE_CONFIG.replace("tipps@example.org", "tipps@bürgernetz.example").replace(
        "abmelden@example.org", "abmelden@Bürgernetz.example"
    )
    config = load_config(make_project(subscribers=csv_of(rows), config=base, extra_config=extra))

    report = send(config, make_factory=message_factory(config))

    assert (report.counts[SENT], report.counts[INVALID], report.exit_code) == (2, 1, 0)
    assert sorted(smtp_server.recipients()) == [
        "Bernd@xn--bcher-kva.example",
        "anna@xn--bcher-kva.example",
    ]
    for received in smtp_server.received:
        assert received.mail_from == "tipps@xn--brgernetz-q9a.example"
        assert received.data.isascii()
        message = received.parse()
        assert message["From"].addresses[0].addr_spec == "tipps@xn--brgernetz-q9a.example"
        assert message["To"].addresses[0].addr_spec == received.rcpt_tos[0]
        assert "<mailto:abmelden@xn--brgernetz-q9a.example?" in message["List-Unsubscribe"]


def test_second_send_sends_nothing_and_exits_0(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    config = smtp_project(make_project, smtp_server, people(10))
    assert send(config).counts[SENT] == 10

    again = send(config)

    assert (again.counts[SENT], again.counts[ALREADY_SENT], again.exit_code) == (0, 10, 0)
    assert len(smtp_server.received) == 10


def test_451_is_retried_until_delivered(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    emails = [*people(5), "tempfail451-a@example.net", "tempfail451-b@example.net"]
    config = smtp_project(make_project, smtp_server, emails)

    report = send(config)

    assert (
        report.counts[SENT],
        report.counts[LEFT_TO_RETRY],
        report.exit_code,
    ) == (7, 0, 0)
    assert sorted(smtp_server.recipients()) == sorted(emails)
    assert smtp_server.handler.tries["tempfail451-a@example.net"] == 3
    with Ledger.open(config.state.path) as ledger:
        row = ledger.delivery_states("monthly-2017-11", ["tempfail451-a@example.net"])
    assert row["tempfail451-a@example.net"].attempts == 3


def test_failures_beyond_max_attempts_are_left_for_the_next_run(
    make_project: MakeProject, tmp_path: Path, smtp_password: str
) -> None:
    server = SmtpTestServer(tmp_path, faults=Faults(tempfail_times=3)).start()
    try:
        config = smtp_project(make_project, server, ["tempfail451@example.net"], max_attempts=2)
        first = send(config)
        assert (
            first.counts[SENT],
            first.counts[LEFT_TO_RETRY],
            first.exit_code,
        ) == (0, 1, 75)
        assert statuses(config, ["tempfail451@example.net"]) == {
            "tempfail451@example.net": DeliveryStatus.FAILED_TEMPORARY
        }
        second = send(config)
        assert (second.counts[SENT], second.exit_code) == (1, 0)
        assert server.recipients() == ["tempfail451@example.net"]
    finally:
        server.stop()


def age_delivery(config: Config, email: str, days: float) -> None:
    """Pretend the first attempt at ``email`` was made ``days`` ago."""
    from datetime import UTC, datetime, timedelta

    first = (datetime.now(UTC) - timedelta(days=days)).isoformat()
    with contextlib.closing(sqlite3.connect(config.state.path)) as db, db:
        db.execute("UPDATE deliveries SET created_at = ? WHERE email = ?", (first, email))


def test_an_address_that_says_try_later_for_days_is_given_up_so_the_issue_ends(
    make_project: MakeProject, tmp_path: Path, smtp_password: str
) -> None:
    server = SmtpTestServer(tmp_path, faults=Faults(tempfail_times=100)).start()
    try:
        emails = ["tempfail451@example.net", "anna@example.net"]
        config = smtp_project(make_project, server, emails, max_attempts=1)
        first = send(config)
        assert (
            first.counts[SENT],
            first.counts[LEFT_TO_RETRY],
            first.exit_code,
        ) == (1, 1, 75)

        tries = server.handler.tries
        age_delivery(config, "tempfail451@example.net", days=4.9)  # within the default 5 days
        assert send(config).exit_code == 75
        assert tries["tempfail451@example.net"] == 2

        # Past the lifetime: one more try, as a mail server's queue would, then failed for good.
        age_delivery(config, "tempfail451@example.net", days=5.1)
        last = send(config)
        assert tries["tempfail451@example.net"] == 3
        assert (
            last.counts[FAILED_PERMANENT],
            last.counts[ALREADY_SENT],
            last.exit_code,
        ) == (1, 1, 1)
        assert "gave up after 3 attempts since" in last.failures[0]
        assert "451" in last.failures[0]
        with Ledger.open(config.state.path) as ledger:
            stored = ledger.get_issue("monthly-2017-11")
            assert stored is not None and stored.status == "finished"
        assert statuses(config, ["tempfail451@example.net"]) == {
            "tempfail451@example.net": DeliveryStatus.FAILED_PERMANENT
        }
    finally:
        server.stop()


def test_giving_up_after_dropped_connections_quotes_the_error_not_a_missing_code(
    make_project: MakeProject,
) -> None:
    from digestmail.deliver.transports.memory import MemoryTransport
    from digestmail.errors import DeliveryError

    config = load_config(
        make_project(subscribers=csv_of(people(2)), extra_config="[smtp]\nmax_attempts = 1\n")
    )

    def drop_one(message: OutgoingMessage, tries: int) -> DeliveryError | None:
        if message.email == people(2)[0]:
            return DeliveryError("connection lost", recipient=message.email)
        return None

    assert send(config, transport=MemoryTransport(connections=1, fault=drop_one)).exit_code == 75
    age_delivery(config, people(2)[0], days=6)
    last = send(config, transport=MemoryTransport(connections=1, fault=drop_one))
    assert last.exit_code == 1
    assert "gave up after 2 attempts since" in last.failures[0]
    assert last.failures[0].endswith("last: connection lost"), last.failures[0]


def test_an_old_deferral_that_goes_through_on_its_last_chance_is_sent(
    make_project: MakeProject, tmp_path: Path, smtp_password: str
) -> None:
    server = SmtpTestServer(tmp_path, faults=Faults(tempfail_times=1)).start()
    try:
        config = smtp_project(make_project, server, ["tempfail451@example.net"], max_attempts=1)
        assert send(config).exit_code == 75
        age_delivery(config, "tempfail451@example.net", days=30)
        again = send(config)
        assert (
            again.counts[SENT],
            again.counts[FAILED_PERMANENT],
            again.exit_code,
        ) == (1, 0, 0)
        assert server.recipients() == ["tempfail451@example.net"]
    finally:
        server.stop()


def test_connection_dropped_mid_transaction_is_retried(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    emails = [*people(6), "dropdata@example.net"]
    config = smtp_project(make_project, smtp_server, emails)

    report = send(config)

    assert (report.counts[SENT], report.exit_code) == (7, 0)
    assert sorted(smtp_server.recipients()) == sorted(emails)
    assert smtp_server.handler.tries["dropdata@example.net"] == 2


def test_421_after_n_messages_reconnects_and_continues(
    make_project: MakeProject, tmp_path: Path, smtp_password: str
) -> None:
    server = SmtpTestServer(tmp_path, faults=Faults(close_after=3)).start()
    try:
        emails = people(40)
        config = smtp_project(make_project, server, emails, connections=2)
        report = send(config)
        assert (report.counts[SENT], report.exit_code) == (40, 0)
        assert sorted(server.recipients()) == sorted(emails)
        assert server.connections >= 40 // 3
    finally:
        server.stop()


def test_550_is_recorded_and_not_retried(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    emails = [*people(3), "reject550@example.net"]
    config = smtp_project(make_project, smtp_server, emails)

    report = send(config)

    assert (
        report.counts[SENT],
        report.counts[FAILED_PERMANENT],
        report.exit_code,
    ) == (3, 1, 1)
    assert report.failures == ("reject550@example.net: 550 5.7.1 rejected by policy",)
    assert smtp_server.handler.tries["reject550@example.net"] == 1
    assert statuses(config, ["reject550@example.net"]) == {
        "reject550@example.net": DeliveryStatus.FAILED_PERMANENT
    }
    again = send(config)
    assert (
        again.counts[ALREADY_FAILED],
        again.counts[FAILED_PERMANENT],
        again.exit_code,
    ) == (1, 0, 0)
    assert smtp_server.handler.tries["reject550@example.net"] == 1


def test_user_unknown_is_suppressed_for_later_issues(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    config = smtp_project(make_project, smtp_server, ["user-unknown@example.net", *people(2)])

    assert send(config).counts[FAILED_PERMANENT] == 1
    with Ledger.open(config.state.path) as ledger:
        assert ledger.is_suppressed("user-unknown@example.net", list_key="monthly")
    again = send(config)  # the same issue: the refusal is what it counts, not the suppression
    assert (
        again.counts[ALREADY_FAILED],
        again.counts[SUPPRESSED],
        again.counts[ALREADY_SENT],
    ) == (1, 0, 2)

    later = send(config, issue=make_issue("monthly-2017-12"))
    assert (later.counts[SENT], later.counts[SUPPRESSED], later.exit_code) == (2, 1, 0)
    assert smtp_server.handler.tries["user-unknown@example.net"] == 1


def test_suppressed_address_gets_nothing(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    emails = people(4)
    config = smtp_project(make_project, smtp_server, emails)
    with Ledger.open(config.state.path) as ledger:
        ledger.suppress(emails[1], list_key="monthly", reason="asked to leave")
        ledger.suppress(emails[2], list_key=None, reason="bounced everywhere")

    report = send(config)

    assert (report.counts[SENT], report.counts[SUPPRESSED]) == (2, 2)
    assert sorted(smtp_server.recipients()) == sorted([emails[0], emails[3]])


def test_dry_run_writes_nothing_anywhere(make_project: MakeProject, tmp_path: Path) -> None:
    config = load_config(make_project(subscribers=csv_of(people(5))))
    with Ledger.open(config.state.path) as ledger:
        ledger.suppress("person0@example.net", list_key=None, reason="test")
    before = config.state.path.read_bytes()

    report = send(config, dry_run=True)

    assert (
        report.dry_run,
        report.counts[SENT],
        report.counts[SUPPRESSED],
        report.exit_code,
    ) == (True, 4, 1, 0)
    assert not config.transport.maildir.exists()
    with Ledger.open(config.state.path) as ledger:
        assert ledger.get_issue("monthly-2017-11") is None
        assert ledger.delivery_states("monthly-2017-11", people(5)) == {}
    assert config.state.path.read_bytes() == before


def test_maildir_default_transport_writes_one_readable_message_each(
    make_project: MakeProject,
) -> None:
    import mailbox

    config = load_config(make_project(subscribers=csv_of(people(3))))
    assert isinstance(make_transport(config), MaildirTransport)

    assert send(config).counts[SENT] == 3

    box = mailbox.Maildir(config.transport.maildir, create=False)
    assert sorted(str(m["To"]) for m in box) == people(3)


def test_a_held_lock_stops_a_second_send_before_anything_is_sent(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    config = smtp_project(make_project, smtp_server, people(3))
    with Ledger.open(config.state.path) as other:
        lease = other.acquire_lock("send:monthly-2017-11")
        with pytest.raises(LockHeldError) as info:
            send(config)
        assert info.value.exit_code == 75
        other.release_lock(lease)
    assert smtp_server.received == []
    assert send(config).counts[SENT] == 3


def test_content_changed_is_reported_and_the_stored_copy_is_sent(
    make_project: MakeProject, tmp_path: Path, smtp_password: str
) -> None:
    server = SmtpTestServer(tmp_path, faults=Faults(tempfail_times=1)).start()
    try:
        config = smtp_project(make_project, server, ["tempfail451@example.net"], max_attempts=1)
        assert send(config, issue=make_issue(text="Erste Fassung\n")).counts[LEFT_TO_RETRY] == 1

        resumed = send(config, issue=make_issue(text="Zweite Fassung\n"))

        assert resumed.content_changed
        assert resumed.counts[SENT] == 1
        body = server.received[0].parse().get_content()
        assert "Erste Fassung" in body
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("good", "broken"),
    [
        (LOOKUP_CHUNK + 100, 'broken@example.net,"Broken" x\n'),  # after a chunk was sent
        (5, 'broken@example.net,"Unterminated\n'),  # before anything was sent
    ],
)
def test_a_csv_error_part_way_is_an_invalid_row_and_the_fixed_file_delivers_it(
    make_project: MakeProject, good: int, broken: str
) -> None:
    """Issue 14: a row the csv module refuses is an invalid row (named with its line), not an
    error that ends a send half-way with exit 2 after messages went out."""
    import mailbox

    emails = people(good)
    config = load_config(make_project(subscribers=csv_of(emails) + broken))
    subscribers = config.get_list("monthly").subscribers
    broken_line = good + 2  # after the header and the good rows

    first_run = send(config)

    assert (first_run.exit_code, first_run.counts[SENT], first_run.counts[INVALID]) == (
        0,
        good,
        1,
    )
    assert first_run.invalid_rows[0].startswith(f"line {broken_line}: not valid CSV")
    box = mailbox.Maildir(config.transport.maildir, create=True)
    assert sorted(str(m["To"]) for m in box) == sorted(emails)

    subscribers.write_text(csv_of([*emails, "broken@example.net"]), encoding="utf-8")
    again = send(config)

    assert (again.exit_code, again.counts[ALREADY_SENT], again.counts[SENT]) == (0, good, 1)
    counts = collections.Counter(str(m["To"]) for m in box)
    assert sorted(counts) == sorted([*emails, "broken@example.net"])
    assert set(counts.values()) == {1}
    with Ledger.open(config.state.path) as ledger:
        stored = ledger.get_issue("monthly-2017-11")
        assert stored is not None and stored.status == "finished"


def test_any_error_of_the_producer_fails_the_send(make_project: MakeProject) -> None:
    from digestmail.deliver.transports.memory import MemoryTransport

    config = load_config(make_project(subscribers="email\n"))
    transport = MemoryTransport(connections=2)

    def stream() -> Iterator[Recipient]:
        for i in range(LOOKUP_CHUNK + 10):
            yield Recipient(email=f"p{i}@example.net")
        raise RuntimeError("the source of recipients broke")

    with Ledger.open(config.state.path) as ledger:
        with pytest.raises(RuntimeError, match="source of recipients broke"):
            asyncio.run(
                send_issue(
                    SendJob(config, config.get_list("monthly"), make_issue(), ledger),
                    transport=transport,
                    make_factory=TinyFactory,
                    recipients=stream(),
                )
            )
        stored = ledger.get_issue("monthly-2017-11")
    assert stored is not None and stored.status == "open"
    assert 0 < len(transport.sent) <= LOOKUP_CHUNK


def test_test_copies_are_recorded_apart_and_ignore_suppression(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    config = smtp_project(make_project, smtp_server, people(2))
    list_cfg = config.get_list("monthly")
    with Ledger.open(config.state.path) as ledger:
        ledger.suppress("editor@example.org", list_key=None, reason="test")
        report = asyncio.run(
            send_test_copies(
                SendJob(
                    config,
                    list_cfg,
                    make_issue(),
                    ledger,
                    test_addresses=("editor@example.org",),
                ),
                transport=make_transport(config),
                make_factory=message_factory(config),
            )
        )
        assert ledger.get_issue("monthly-2017-11") is None
        assert ledger.delivery_states("monthly-2017-11", ["editor@example.org"]) == {}
        test_rows = ledger.delivery_states("monthly-2017-11#test", ["editor@example.org"])
    assert (report.counts[SENT], report.test_copies, report.exit_code) == (1, True, 0)
    assert test_rows["editor@example.org"].status == DeliveryStatus.SENT
    assert smtp_server.recipients() == ["editor@example.org"]
    assert send(config).counts[SENT] == 2


def test_a_test_copy_never_shares_its_message_id_with_the_real_delivery(
    make_project: MakeProject,
) -> None:
    import mailbox

    editor = "person0@example.net"  # an editor who is also on the list
    config = load_config(make_project(subscribers=csv_of(people(3))))

    assert send_copies(config, [editor]).counts[SENT] == 1
    assert (
        send_copies(config, [editor]).counts[SENT] == 1
    )  # the editor fixed a typo and tests again
    assert send(config, make_factory=message_factory(config)).counts[SENT] == 3

    box = mailbox.Maildir(config.transport.maildir, create=False)
    ids = [str(m["Message-ID"]) for m in box if editor in str(m["To"])]
    assert len(ids) == 3
    assert len(set(ids)) == 3, "a client would drop the real issue or the second test copy"
    with Ledger.open(config.state.path) as ledger:
        real = ledger.delivery_states("monthly-2017-11", [editor])[editor].message_id
        test = ledger.delivery_states("monthly-2017-11#test", [editor])[editor].message_id
    assert real in ids and test in ids and real != test


def test_a_resumed_send_reuses_the_message_id_recorded_by_the_first_run(
    make_project: MakeProject, tmp_path: Path, smtp_password: str
) -> None:
    server = SmtpTestServer(tmp_path, faults=Faults(tempfail_times=1)).start()
    try:
        address = "tempfail451@example.net"
        config = smtp_project(make_project, server, [address], max_attempts=1)
        first = send(config, make_factory=message_factory(config))
        assert (first.counts[SENT], first.counts[LEFT_TO_RETRY]) == (0, 1)
        with Ledger.open(config.state.path) as ledger:
            recorded = ledger.delivery_states("monthly-2017-11", [address])[address].message_id

        resumed = send(config, make_factory=message_factory(config))

        assert resumed.counts[SENT] == 1
        assert recorded and server.received[0].parse()["Message-ID"] == recorded
    finally:
        server.stop()


def test_test_copy_addresses_are_checked_before_anything_is_sent(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    from digestmail.errors import UsageError

    config = smtp_project(make_project, smtp_server, people(1))
    with Ledger.open(config.state.path) as ledger, pytest.raises(UsageError, match="nonsense"):
        asyncio.run(
            send_test_copies(
                SendJob(
                    config,
                    config.get_list("monthly"),
                    make_issue(),
                    ledger,
                    test_addresses=("editor@example.org", "nonsense"),
                ),
                transport=make_transport(config),
                make_factory=TinyFactory,
            )
        )
    assert smtp_server.received == []


def test_no_connection_possible_is_a_transport_error(make_project: MakeProject) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    extra = f"""
    [transport]
    kind = "smtp"
    [smtp]
    host = "127.0.0.1"
    port = {port}
    security = "none"
    max_attempts = 2
    retry_max_delay = 0.01
    """
    config = load_config(make_project(subscribers=csv_of(people(3)), extra_config=extra))
    with pytest.raises(TransportError, match=str(port)):
        send(config)
    assert set(statuses(config, people(3)).values()) <= {DeliveryStatus.QUEUED}


# --- the engine's own rules, on the in-memory transport ------------------------------------


class RecordingTransport:
    """Checks the crash-safety rules on every connection, with a view of the ledger file.

    A transaction may start only when its attempt is committed (``queued``), and a message may
    be delivered (the gate passed) only when everything the connection delivered before is
    committed as sent: so a crash loses the outcome of at most one message per connection.
    """

    def __init__(self, config: Config, connections: int) -> None:
        self.path = config.state.path
        self.connections = connections
        self.delivered: list[str] = []
        self.violations: list[str] = []
        self.gates_waited = 0

    @property
    def max_connections(self) -> int:
        return self.connections

    async def connect(self) -> Connection:
        return RecordingConnection(self)

    def rows(self, emails: list[str]) -> dict[str, DeliveryStatus]:
        with Ledger.open(self.path) as view:
            found = view.delivery_states("monthly-2017-11", emails)
        return {email: row.status for email, row in found.items()}


class RecordingConnection:
    def __init__(self, owner: RecordingTransport) -> None:
        self.owner = owner
        self.mine: list[str] = []

    @property
    def usable(self) -> bool:
        return True

    async def send(
        self, sender: str, message: OutgoingMessage, *, gate: Gate | None = None
    ) -> SendResult:
        email, owner = message.email, self.owner
        if owner.rows([email]).get(email) != DeliveryStatus.QUEUED:
            owner.violations.append(f"{email} not marked before its transaction")
        await asyncio.sleep(0.001)  # the envelope and body on the wire
        if gate is not None and (waiting := gate()) is not None:
            owner.gates_waited += 1
            await waiting
        committed = owner.rows(self.mine)
        for earlier in self.mine:
            if committed[earlier] != DeliveryStatus.SENT:
                owner.violations.append(f"{earlier} not recorded before {email} was delivered")
        self.mine.append(email)
        owner.delivered.append(email)
        return SendResult(250, "ok")

    async def close(self) -> None:
        return None


def test_outcomes_are_committed_before_the_connection_sends_again(
    make_project: MakeProject,
) -> None:
    config = load_config(make_project(subscribers=csv_of(people(60))))
    transport = RecordingTransport(config, connections=3)

    report = send(config, transport=transport)

    assert report.counts[SENT] == 60
    assert transport.violations == []
    assert sorted(transport.delivered) == sorted(people(60))


def test_memory_stays_bounded_by_the_window(make_project: MakeProject) -> None:
    from digestmail.deliver.recipients import LOOKUP_CHUNK
    from digestmail.deliver.transports.memory import MemoryTransport
    from digestmail.deliver.workers import window

    config = load_config(make_project(subscribers="email\n"))
    transport = MemoryTransport(connections=2)
    ahead: list[int] = []

    def stream() -> Iterator[Recipient]:
        for i in range(5000):
            ahead.append(i - len(transport.sent))
            yield Recipient(email=f"p{i}@example.net")

    list_cfg = config.get_list("monthly")
    with Ledger.open(config.state.path) as ledger:
        report = asyncio.run(
            send_issue(
                SendJob(config, list_cfg, make_issue(), ledger),
                transport=transport,
                make_factory=TinyFactory,
                recipients=stream(),
            )
        )
    assert report.counts[SENT] == 5000
    assert max(ahead) <= window(2) + LOOKUP_CHUNK


def test_stop_event_ends_the_run_cleanly_and_the_next_run_completes(
    make_project: MakeProject,
) -> None:
    from digestmail.deliver.transports.memory import MemoryTransport

    config = load_config(make_project(subscribers=csv_of(people(200))))
    stop = asyncio.Event()

    def stop_after_50(message: OutgoingMessage, tries: int) -> None:
        if len(transport.sent) >= 50:
            stop.set()

    transport = MemoryTransport(connections=4, fault=stop_after_50)
    first = send(config, transport=transport, stop=stop)
    assert first.interrupted and first.exit_code == 75
    assert 50 <= first.counts[SENT] < 200

    second = send(config, transport=transport)
    assert (second.exit_code, second.counts[ALREADY_SENT]) == (0, first.counts[SENT])
    counts = collections.Counter(c.message.email for c in transport.sent)
    assert sorted(counts) == sorted(people(200))
    assert set(counts.values()) == {1}


def test_a_stop_does_not_wait_for_the_rate_limit_to_hand_out_more_messages(
    make_project: MakeProject,
) -> None:
    # At 2 messages/s the 8 connections each hold a token reserved up to 3.5 s ahead; a stop
    # right after the first message must not let them send when their turn comes.
    from digestmail.deliver.transports.memory import MemoryTransport

    config = load_config(
        make_project(
            subscribers=csv_of(people(15)),
            extra_config="[smtp]\nconnections = 8\nrate_per_second = 2\n",
        )
    )
    stop = asyncio.Event()

    def stop_at_once(message: OutgoingMessage, tries: int) -> None:
        stop.set()

    transport = MemoryTransport(connections=8, fault=stop_at_once)
    first = send(config, transport=transport, stop=stop)
    assert (first.counts[SENT], first.interrupted, first.exit_code) == (1, True, 75)
    assert first.counts[LEFT_TO_RETRY] == 14

    unlimited = load_config(make_project(subscribers=csv_of(people(15))))  # same ledger
    second = send(unlimited, transport=MemoryTransport(connections=8))
    assert (second.counts[SENT], second.counts[ALREADY_SENT], second.exit_code) == (14, 1, 0)


def test_the_last_progress_event_counts_an_address_left_for_the_next_run(
    make_project: MakeProject,
) -> None:
    from digestmail.deliver.transports.memory import MemoryTransport
    from digestmail.errors import DeliveryError

    config = load_config(
        make_project(subscribers=csv_of(people(3)), extra_config="[smtp]\nmax_attempts = 1\n")
    )

    def defer_one(message: OutgoingMessage, tries: int) -> DeliveryError | None:
        if message.email == people(3)[1]:
            return DeliveryError("later", recipient=message.email, code=451, reply="try later")
        return None

    events: list[ProgressEvent] = []
    transport = MemoryTransport(connections=2, fault=defer_one)
    report = send(config, transport=transport, on_progress=events.append)
    assert (report.counts[SENT], report.counts[LEFT_TO_RETRY]) == (2, 1)
    last = events[-1]
    assert (last.done, last.counts[SENT], last.waiting, last.counts.processed) == (True, 2, 1, 3)


class LedgerHoggingTransport:
    """Delivers one message while another connection keeps the ledger locked for a while.

    The lock is held longer than the ledger's busy timeout and across lease renewals, so the
    renewals that fall into it fail with LedgerBusyError; after it, the message is delivered
    and the send waits for a renewal that goes through.
    """

    def __init__(self, config: Config, hold: float, after: float) -> None:
        self.path = config.state.path
        self.hold = hold
        self.after = after
        self.expiry: list[str] = []

    @property
    def max_connections(self) -> int:
        return 1

    async def connect(self) -> Connection:
        return cast(Connection, self)

    @property
    def usable(self) -> bool:
        return True

    def lease_expiry(self) -> str:
        with contextlib.closing(sqlite3.connect(self.path)) as view:
            return str(view.execute("SELECT expires_at FROM locks").fetchone()[0])

    async def send(
        self, sender: str, message: OutgoingMessage, *, gate: Gate | None = None
    ) -> SendResult:
        hog = sqlite3.connect(self.path, isolation_level=None)
        try:
            hog.execute("BEGIN EXCLUSIVE")
            self.expiry.append(hog.execute("SELECT expires_at FROM locks").fetchone()[0])
            await asyncio.sleep(self.hold)
            self.expiry.append(hog.execute("SELECT expires_at FROM locks").fetchone()[0])
            hog.execute("COMMIT")
        finally:
            hog.close()
        await asyncio.sleep(self.after)
        self.expiry.append(self.lease_expiry())
        return SendResult(250, "ok")

    async def close(self) -> None:
        return None


def test_a_busy_ledger_at_lease_renewal_neither_loses_the_report_nor_the_lease(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    from digestmail.deliver import send as deliver
    from digestmail.ledger import schema as ledger_schema

    monkeypatch.setattr(deliver, "LEASE_TTL", 0.3)  # a renewal every 0.1 s
    monkeypatch.setattr(ledger_schema, "BUSY_TIMEOUT_MS", 20)
    config = load_config(make_project(subscribers=csv_of(["busy@example.net"])))
    transport = LedgerHoggingTransport(config, hold=0.35, after=0.25)

    report = send(config, transport=transport)

    assert (report.counts[SENT], report.exit_code) == (1, 0)
    held_from, held_until, renewed = transport.expiry
    assert held_from == held_until, "no renewal could commit while the ledger was locked"
    assert renewed > held_until, "renewing went on once the ledger was free again"
    with Ledger.open(config.state.path) as ledger:
        stored = ledger.get_issue("monthly-2017-11")
        assert stored is not None and stored.status == "finished"
        assert ledger.acquire_lock("send:monthly-2017-11")  # and the lease was released


# --- separate processes -------------------------------------------------------------------------


def driver(config: Config) -> subprocess.Popen[str]:
    """Start ``tests/helpers/send_driver.py`` on the project: a sender in a process of its own.

    The checkout goes first on PYTHONPATH (for ``tests``), ahead of what is already there (the
    ``src`` under test may come from there rather than from the installed package).
    """
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.send_driver", str(config.path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": pythonpath},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def test_sigkill_mid_send_resumes_with_at_most_one_extra_copy_per_connection(
    make_project: MakeProject, tmp_path: Path, smtp_password: str
) -> None:
    connections = 4
    server = SmtpTestServer(tmp_path, faults=Faults(delay=0.02)).start()
    try:
        emails = people(120)
        config = smtp_project(make_project, server, emails, connections=connections)
        proc = driver(config)
        wait_for(lambda: len(server.received) >= 30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert len(server.received) < len(emails)

        resumed = driver(config)
        out, err = resumed.communicate(timeout=60)
        assert resumed.returncode == 0, err
        counts = collections.Counter(server.recipients())
        assert sorted(counts) == sorted(emails)
        extra = sum(n - 1 for n in counts.values())
        assert extra <= connections
        assert max(counts.values()) <= 2
        assert json.loads(out)["already_sent"] >= 30 - connections
    finally:
        server.stop()


def test_sigterm_stops_cleanly_with_exit_75_and_no_duplicates(
    make_project: MakeProject, tmp_path: Path, smtp_password: str
) -> None:
    server = SmtpTestServer(tmp_path, faults=Faults(delay=0.02)).start()
    try:
        emails = people(100)
        config = smtp_project(make_project, server, emails, connections=4)
        proc = driver(config)
        wait_for(lambda: len(server.received) >= 20)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 75, err
        report = json.loads(out)
        assert report["interrupted"]
        assert report["sent"] == len(server.received)

        rest = driver(config)
        rest.communicate(timeout=60)
        assert rest.returncode == 0
        assert sorted(server.recipients()) == sorted(emails)
    finally:
        server.stop()


def test_two_concurrent_sends_never_both_send(
    make_project: MakeProject, tmp_path: Path, smtp_password: str
) -> None:
    second_done = threading.Event()  # the first send is held open until the second ends
    server = SmtpTestServer(tmp_path, faults=Faults(hold=second_done)).start()
    try:
        emails = people(60)
        config = smtp_project(make_project, server, emails, connections=2)
        first = driver(config)
        wait_for(lambda: len(server.received) >= 1)
        second = driver(config)
        try:
            _, err = second.communicate(timeout=30)
        finally:
            second_done.set()
        assert second.returncode == 75
        assert "lock" in err
        first.communicate(timeout=60)
        assert first.returncode == 0
        assert sorted(server.recipients()) == sorted(emails)
    finally:
        server.stop()


def test_exit_codes_follow_the_contract() -> None:
    report = DeliveryReport(issue_id="x", counts=Counts({SENT: 1, LEFT_TO_RETRY: 1}))
    assert json.loads(json.dumps(report.as_dict()))["left_to_retry"] == 1
    assert report.exit_code == 75
    assert DeliveryReport(issue_id="x", counts=Counts({FAILED_PERMANENT: 1})).exit_code == 1
    assert DeliveryReport(issue_id="x").exit_code == 0


def test_refused_password_is_not_retried_and_sends_nothing(
    make_project: MakeProject, smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIGESTMAIL_TEST_SMTP_PASSWORD", "wrong")
    config = smtp_project(make_project, smtp_server, people(5), connections=1, max_attempts=5)
    with pytest.raises(TransportSetupError, match="DIGESTMAIL_TEST_SMTP_PASSWORD") as info:
        send(config)
    assert info.value.exit_code == 2
    assert smtp_server.connections == 1, "a refused password is not tried again"
    assert smtp_server.received == []
