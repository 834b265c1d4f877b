"""A suppression made while a send runs applies to every message not yet started.

The send screens its list a chunk at a time, well before the chunk's last message starts; these
tests suppress addresses from a second ledger connection (as ``serve`` would) while the send
is part-way through a chunk, and check that those messages are recorded as suppressed, not
sent, while a suppression lifted again, one on another list and one made after the message
went out change nothing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digestmail.config import Config, load_config
from digestmail.deliver import recipients
from digestmail.deliver.counts import Outcome
from digestmail.deliver.job import SendJob
from digestmail.deliver.send import DeliveryReport, send_issue
from digestmail.deliver.transports.memory import MemoryTransport
from digestmail.errors import DeliveryError
from digestmail.ledger.store import Ledger, Subscription
from digestmail.models import DeliveryStatus, OutgoingMessage
from digestmail.subscribers.reader import read_subscribers
from tests.helpers.mail import TinyFactory, make_issue
from tests.helpers.project import MakeProject

ISSUE = "monthly-2017-11"


def person(i: int) -> str:
    return f"person{i}@example.net"


def run_send(config: Config, transport: MemoryTransport) -> DeliveryReport:
    list_cfg = config.get_list("monthly")
    with Ledger.open(config.state.path) as ledger:
        return asyncio.run(
            send_issue(
                SendJob(config, list_cfg, make_issue(), ledger, stop=asyncio.Event()),
                transport=transport,
                make_factory=TinyFactory,
                recipients=read_subscribers(list_cfg.subscribers),
            )
        )


def statuses(config: Config) -> dict[str, str]:
    with Ledger.open(config.state.path) as ledger:
        rows = ledger._read("SELECT email, status FROM deliveries WHERE issue_id = ?", (ISSUE,))
    return {str(email): str(status) for email, status in rows}


def project(make_project: MakeProject, n: int) -> Config:
    rows = "".join(f"{person(i)},Person {i}\n" for i in range(n))
    return load_config(make_project(subscribers="email,name\n" + rows))


def suppress_meanwhile(path: Path, when: str) -> MemoryTransport:
    """A one-connection transport that, as it sends to ``when``, lets another writer act."""

    def act(message: OutgoingMessage, tries: int) -> DeliveryError | None:
        if message.email != when:
            return None
        with Ledger.open(path) as other:
            other.suppress(person(50), list_key="monthly", reason="one-click", source="web")
            other.suppress(person(60).upper(), list_key=None, reason="bounce", source="bounce")
            other.suppress(person(70), list_key="weekly", reason="other list", source="web")
            other.suppress(person(5), list_key="monthly", reason="too late", source="web")
            other.suppress(person(80), list_key="monthly", reason="changed mind", source="web")
            now = datetime.now(UTC)
            other.subscribe(Subscription(person(80), "monthly", "", now, now))
            other.suppress(person(700), list_key="monthly", reason="next chunk", source="web")
        return None

    return MemoryTransport(connections=1, fault=act)


def test_suppression_during_a_send_applies_to_messages_not_yet_started(
    make_project: MakeProject, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(recipients, "POLL_INTERVAL", 0.0)  # look before every message
    config = project(make_project, 1000)
    transport = suppress_meanwhile(config.state.path, when=person(10))

    report = run_send(config, transport)

    sent = [c.message.email for c in transport.sent]
    assert person(50) not in sent and person(60) not in sent and person(700) not in sent
    assert person(5) in sent and person(70) in sent and person(80) in sent
    assert (report.counts[Outcome.SENT], report.counts[Outcome.SUPPRESSED]) == (997, 3)
    assert report.exit_code == 0
    rows = statuses(config)
    assert rows[person(50)] == rows[person(60)] == rows[person(700)] == DeliveryStatus.SUPPRESSED
    assert rows[person(5)] == rows[person(80)] == DeliveryStatus.SENT
    assert len(rows) == 1000


def test_the_default_interval_catches_a_suppression_within_milliseconds(
    make_project: MakeProject,
) -> None:
    """Without the test's help: a slow transport, the address 40 ms of messages later."""
    config = project(make_project, 60)
    path = config.state.path

    class Slow(MemoryTransport):
        async def connect(self):  # type: ignore[no-untyped-def]
            connection = await super().connect()
            send = connection.send

            async def slow_send(sender, message, *, gate=None):  # type: ignore[no-untyped-def]
                await asyncio.sleep(0.001)
                return await send(sender, message, gate=gate)

            connection.send = slow_send  # type: ignore[method-assign]
            return connection

    def act(message: OutgoingMessage, tries: int) -> DeliveryError | None:
        if message.email == person(3):
            with Ledger.open(path) as other:
                other.suppress(person(45), list_key="monthly", reason="one-click", source="web")
        return None

    transport = Slow(connections=1, fault=act)
    report = run_send(config, transport)

    assert person(45) not in [c.message.email for c in transport.sent]
    assert report.counts[Outcome.SUPPRESSED] == 1
    assert statuses(config)[person(45)] == DeliveryStatus.SUPPRESSED


def test_the_log_reports_only_new_suppressions_of_the_list(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "l.sqlite") as ledger:
        ledger.suppress("old@example.org", list_key=None, reason="", source="cli")
        mark = ledger.suppression_mark()
        assert ledger.suppressed_since(mark, list_key="monthly") == (mark, set())
        ledger.suppress("Anna@Example.org", list_key="monthly", reason="", source="web")
        ledger.suppress("anna@example.org", list_key="monthly", reason="again", source="web")
        ledger.suppress("bert@example.org", list_key="weekly", reason="", source="web")
        ledger.suppress("carla@example.org", list_key=None, reason="", source="bounce")
        new_mark, keys = ledger.suppressed_since(mark, list_key="monthly")
        assert keys == {"anna@example.org", "carla@example.org"}
        assert new_mark == mark + 3  # the repeated suppression added no row
        assert ledger.suppressed_since(new_mark, list_key="monthly") == (new_mark, set())
