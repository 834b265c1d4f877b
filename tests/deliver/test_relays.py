"""Several relays (``[[smtp.relays]]``, issue 13): two real aiosmtpd servers on 127.0.0.1.

One relay stopped in the middle of a send, one that answers 421 to everything, one that
defers every recipient, one with a refused password: each time the other relay carries the
send, every subscriber gets exactly one copy, and the ledger names the relay that accepted it.
"""

from __future__ import annotations

import collections
import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from digestmail.config import Config, SmtpConfig, load_config
from digestmail.deliver import event_loop
from digestmail.deliver.relays import TROUBLE_RUN, RelayPool, Relays, relays_for
from digestmail.deliver.send import DeliveryReport, make_transport
from digestmail.deliver.transports.memory import MemoryTransport
from digestmail.errors import ExitCode, RelayRefused, TransportError
from digestmail.ledger.store import Ledger
from digestmail.models import Delivery, DeliveryStatus
from tests.deliver.test_send import csv_of, people, send
from tests.helpers.cli import Cli
from tests.helpers.project import MakeProject
from tests.helpers.smtp_server import Faults, SmtpTestServer, toml_table

ISSUE = "monthly-2017-11"


class StartServer(Protocol):
    def __call__(self, name: str, faults: Faults | None = None) -> SmtpTestServer: ...


@pytest.fixture
def start_server(tmp_path: Path, smtp_password: str) -> Iterator[StartServer]:
    """Start servers (each in a folder of its own for its CA); all are stopped at the end."""
    started: list[SmtpTestServer] = []

    def start(name: str, faults: Faults | None = None) -> SmtpTestServer:
        folder = tmp_path / f"server-{name}"
        folder.mkdir()
        server = SmtpTestServer(folder, faults=faults).start()
        started.append(server)
        return server

    yield start
    for server in started:
        if server._loop.is_running():
            server.stop()


def relays_project(
    make_project: MakeProject,
    emails: list[str],
    relays: list[tuple[SmtpTestServer, dict[str, object]]],
    **shared: object,
) -> Config:
    """A project that sends through ``relays``: (server, its entry's keys) each."""
    text = toml_table("[smtp]", {"timeout": 10, "retry_max_delay": 0.05} | shared)
    for server, keys in relays:
        text += server.relay_config(**keys)
    text += '\n[transport]\nkind = "smtp"\n'
    return load_config(make_project(subscribers=csv_of(emails), extra_config=text))


def rows(config: Config, emails: list[str]) -> dict[str, Delivery]:
    with Ledger.open(config.state.path) as ledger:
        return ledger.delivery_states(ISSUE, emails)


def message_ids(*servers: SmtpTestServer) -> list[str]:
    return [str(m.parse()["Message-ID"]) for s in servers for m in s.received]


def test_a_relay_stopped_mid_send_leaves_every_message_to_the_other_exactly_once(
    make_project: MakeProject, start_server: StartServer
) -> None:
    first = start_server("a", Faults(delay=0.01))
    second = start_server("b")
    emails = people(240)
    config = relays_project(
        make_project, emails, [(first, {"name": "relay-a"}), (second, {"name": "relay-b"})]
    )

    sent = threading.Event()

    def stop_first_mid_send() -> None:
        while len(first.received) < 20 and not sent.is_set():
            time.sleep(0.002)
        first.stop()

    stopper = threading.Thread(target=stop_first_mid_send)
    stopper.start()
    try:
        report = send(config)
    finally:
        sent.set()
        stopper.join(10)

    got_a, got_b = first.recipients(), second.recipients()
    assert 20 <= len(got_a) < len(emails), "the first relay was stopped part-way"
    assert sorted(got_a + got_b) == sorted(emails), "every subscriber exactly once"
    ids = message_ids(first, second)
    assert len(ids) == len(set(ids)) == len(emails)
    found = rows(config, emails)
    assert {e: d.status for e, d in found.items()} == dict.fromkeys(emails, DeliveryStatus.SENT)
    assert {e for e, d in found.items() if d.relay == "relay-a"} == set(got_a)
    assert {e for e, d in found.items() if d.relay == "relay-b"} == set(got_b)
    assert report.exit_code is ExitCode.OK
    assert report.relays == {"relay-a": len(got_a), "relay-b": len(got_b)}
    assert any(note.startswith("relay relay-a: rested") for note in report.relay_notes)


def test_a_relay_that_answers_421_to_everything_rests_while_the_other_sends(
    make_project: MakeProject, start_server: StartServer
) -> None:
    busy = start_server("busy", Faults(refuse_all=True))
    good = start_server("good")
    emails = people(200)
    # The rest's backoff starts at about a second: far longer than the send takes.
    config = relays_project(
        make_project,
        emails,
        [(busy, {"name": "busy"}), (good, {"name": "good"})],
        retry_max_delay=30,
    )
    report = send(config)

    assert sorted(good.recipients()) == sorted(emails)
    assert busy.received == []
    # Without a rest each of its two workers would open a connection per message it took;
    # resting, it is tried again after about 1, 2, 4, 8 ... seconds.
    assert busy.connections < 20
    found = rows(config, emails)
    assert {d.relay for d in found.values()} == {"good"}
    assert {d.status for d in found.values()} == {DeliveryStatus.SENT}
    assert report.exit_code is ExitCode.OK
    assert report.relays == {"busy": 0, "good": len(emails)}
    (note,) = report.relay_notes
    assert note.startswith("relay busy: rested") and "421" in note


def test_a_message_deferred_by_one_relay_is_delivered_by_the_other(
    make_project: MakeProject, start_server: StartServer
) -> None:
    deferring = start_server("later", Faults(tempfail_times=1000))
    willing = start_server("now", Faults(tempfail_times=0))
    emails = [f"tempfail451-{i}@example.net" for i in range(40)]
    config = relays_project(
        make_project, emails, [(deferring, {"name": "later"}), (willing, {"name": "now"})]
    )
    report = send(config)

    assert sorted(willing.recipients()) == sorted(emails)
    assert deferring.received == []
    tried_first = [e for e in emails if deferring.handler.tries.get(e)]
    assert tried_first, "some messages met the deferring relay first"
    # It rests after a run of deferrals: it does not see every message once per try.
    assert sum(deferring.handler.tries.values()) < len(emails)
    found = rows(config, emails)
    assert {d.relay for d in found.values()} == {"now"}
    assert all(found[e].attempts >= 2 for e in tried_first)
    assert report.exit_code is ExitCode.OK
    assert report.relays["now"] == len(emails)


def test_a_relay_that_refuses_the_password_drops_out_and_the_other_sends(
    make_project: MakeProject, start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = start_server("locked")
    open_ = start_server("open")
    monkeypatch.setenv("DIGESTMAIL_TEST_WRONG_PASSWORD", "not-the-password")
    emails = people(30)
    config = relays_project(
        make_project,
        emails,
        [
            (locked, {"name": "locked", "password_env": "DIGESTMAIL_TEST_WRONG_PASSWORD"}),
            (open_, {"name": "open"}),
        ],
    )
    report = send(config)

    assert sorted(open_.recipients()) == sorted(emails)
    assert report.exit_code is ExitCode.OK
    (note,) = report.relay_notes
    assert note.startswith("relay locked: out of this run")
    assert "smtp.relays[1].username" in note and "DIGESTMAIL_TEST_WRONG_PASSWORD" in note


def test_a_relay_that_refuses_our_sender_drops_out_and_fails_nobody(
    make_project: MakeProject, start_server: StartServer
) -> None:
    """553 to MAIL FROM is the relay's account, not the readers: every message goes out once
    through the other relay, and nobody is recorded as failed."""
    picky = start_server("picky", Faults(refuse_sender=True))
    open_ = start_server("open")
    emails = people(40)
    config = relays_project(
        make_project, emails, [(picky, {"name": "picky"}), (open_, {"name": "open"})]
    )
    report = send(config)

    assert sorted(open_.recipients()) == sorted(emails) and picky.received == []
    found = rows(config, emails)
    assert {e: (d.status, d.relay) for e, d in found.items()} == dict.fromkeys(
        emails, (DeliveryStatus.SENT, "open")
    )
    # A message the picky relay refused to take was never tried: one attempt each.
    assert {d.attempts for d in found.values()} == {1}
    assert report.exit_code is ExitCode.OK
    (note,) = report.relay_notes
    assert note.startswith("relay picky: out of this run: relay picky at 127.0.0.1:")
    assert "refused the envelope sender <tipps@example.org> (MAIL FROM): 553 5.7.1" in note


def test_a_relay_that_does_not_relay_for_us_drops_out_and_fails_nobody(
    make_project: MakeProject, start_server: StartServer
) -> None:
    """Postfix's "554 5.7.1 <reader>: Relay access denied" (no AUTH, the wrong port) is about
    the relay, not the reader: nobody is failed for good, the other relay sends everything."""
    closed = start_server("closed", Faults(refuse_relay=True))
    open_ = start_server("open")
    emails = people(40)
    config = relays_project(
        make_project, emails, [(closed, {"name": "closed"}), (open_, {"name": "open"})]
    )
    report = send(config)

    assert sorted(open_.recipients()) == sorted(emails) and closed.received == []
    assert {d.status for d in rows(config, emails).values()} == {DeliveryStatus.SENT}
    assert report.exit_code is ExitCode.OK
    (note,) = report.relay_notes
    assert note.startswith("relay closed: out of this run: relay closed at 127.0.0.1:")
    assert "does not relay for us (RCPT TO): 554 5.7.1 <...>: Relay access denied" in note
    assert not any(email in note for email in emails), "the note names the relay, not a reader"


@pytest.mark.parametrize("fault", ["refuse_sender", "refuse_relay"])
def test_a_lone_relay_refusing_us_is_a_setup_error_that_fails_nobody(
    make_project: MakeProject, start_server: StartServer, fault: str
) -> None:
    picky = start_server("picky", Faults(**{fault: True}))  # type: ignore[arg-type]
    emails = people(5)
    config = relays_project(make_project, emails, [(picky, {"name": "picky"})])
    with pytest.raises(RelayRefused) as info:
        send(config)
    assert info.value.exit_code is ExitCode.USAGE  # nothing went out: fix the config
    assert " 5.7.1 " in str(info.value)
    assert {d.status for d in rows(config, emails).values()} <= {DeliveryStatus.QUEUED}


def test_a_single_message_tries_a_relay_that_refused_it_last(
    make_project: MakeProject, start_server: StartServer
) -> None:
    """serve's confirmation mails: the heavier relay is down, so after one refusal each mail
    goes straight to the other instead of waiting for the dead one first."""
    down = start_server("down", Faults(refuse_all=True))
    up = start_server("up")
    config = relays_project(
        make_project,
        people(1),
        [(down, {"name": "down", "weight": 9}), (up, {"name": "up", "weight": 1})],
    )
    pool = make_transport(config)
    assert isinstance(pool, RelayPool)

    async def three_connections() -> None:
        for _ in range(3):
            connection = await pool.connect()
            await connection.close()

    event_loop.run(three_connections())
    assert down.connections == 1 and up.connections == 3


def test_every_relay_down_ends_the_run_as_one_relay_down_did(
    make_project: MakeProject, start_server: StartServer
) -> None:
    one = start_server("one")
    two = start_server("two")
    emails = people(5)
    config = relays_project(
        make_project, emails, [(one, {"name": "one"}), (two, {"name": "two"})], max_attempts=2
    )
    one.stop()
    two.stop()
    with pytest.raises(TransportError) as info:
        send(config)
    assert info.value.exit_code is ExitCode.TEMPFAIL
    assert {d.status for d in rows(config, emails).values()} <= {DeliveryStatus.QUEUED}


def test_the_single_smtp_table_is_one_relay_named_host_and_port(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    extra = smtp_server.smtp_config() + '\n[transport]\nkind = "smtp"\n'
    config = load_config(make_project(subscribers=csv_of(people(3)), extra_config=extra))
    transport = make_transport(config)
    assert isinstance(transport, RelayPool)
    assert transport.names == (f"127.0.0.1:{smtp_server.port}",)
    report = send(config)
    assert report.exit_code is ExitCode.OK
    assert {d.relay for d in rows(config, people(3)).values()} == {f"127.0.0.1:{smtp_server.port}"}
    assert report.relay_notes == ()


# --- how the connections are shared -------------------------------------------------------


def pool(*relays: tuple[str, int, int]) -> Relays:
    """The run's relays for (name, connections, weight) each, on in-memory transports."""
    from digestmail.deliver.relays import Member

    members = [Member(n, MemoryTransport(connections=c), c, w, 0.0) for n, c, w in relays]
    return relays_for(RelayPool(members), SmtpConfig())


def shares(relays: Relays, now: float = 0.0) -> dict[str | None, int]:
    return {r.name: relays.active(r, now) for r in relays.members}


def test_default_weights_use_every_connection_of_every_relay() -> None:
    assert shares(pool(("a", 8, 8), ("b", 2, 2))) == {"a": 8, "b": 2}


def test_weights_share_the_connections_within_each_relays_limit() -> None:
    assert shares(pool(("a", 8, 3), ("b", 8, 1))) == {"a": 8, "b": 3}
    assert shares(pool(("a", 8, 1), ("b", 2, 1))) == {"a": 2, "b": 2}
    assert shares(pool(("a", 4, 1), ("b", 4, 1000))) == {"a": 1, "b": 4}


def test_while_a_relay_rests_the_others_use_all_their_connections() -> None:
    relays = pool(("a", 8, 1), ("b", 2, 1))
    _, b = relays.members
    relays.rest(b, "421 busy")
    assert b.resting_until > 0 and b.strikes == 1
    assert shares(relays, now=b.resting_until - 0.001) == {"a": 8, "b": 0}
    assert shares(relays, now=b.resting_until) == {"a": 2, "b": 2}


def test_a_run_of_deferrals_rests_one_of_several_relays_but_never_a_lone_one() -> None:
    relays = pool(("a", 2, 2), ("b", 2, 2))
    a, _ = relays.members
    for _ in range(TROUBLE_RUN - 1):
        relays.deferred(a, "451 later")
    relays.accepted(a)
    relays.deferred(a, "451 later")
    assert a.resting_until == 0, "an accepted message ends the run of deferrals"
    for _ in range(TROUBLE_RUN - 1):
        relays.deferred(a, "451 later")
    assert a.resting_until > 0
    alone = pool(("only", 2, 2))
    (lone,) = alone.members
    for _ in range(TROUBLE_RUN * 3):
        alone.deferred(lone, "451 later")
    assert lone.resting_until == 0


# --- status -------------------------------------------------------------------------------


def test_status_counts_per_relay_in_json_and_table(
    make_project: MakeProject, start_server: StartServer, cli: Cli
) -> None:
    first = start_server("a")
    second = start_server("b")
    emails = [*people(30), "reject550@example.net"]
    config = relays_project(
        make_project, emails, [(first, {"name": "relay-a"}), (second, {"name": "relay-b"})]
    )
    report: DeliveryReport = send(config)
    assert report.exit_code is ExitCode.FAILED  # the 550

    by_relay = collections.Counter(d.relay for d in rows(config, emails).values())
    assert set(by_relay) == {"relay-a", "relay-b"}, "both relays carried part of the send"
    refused_by = rows(config, ["reject550@example.net"])["reject550@example.net"].relay

    done = cli.run("--config", str(config.path), "status", "--format", "json")
    assert done.returncode == 0, done.stderr
    (issue,) = json.loads(done.stdout)
    expected = {
        name: {
            "sent": by_relay[name] - (name == refused_by),
            "deferred": 0,
            "failed": int(name == refused_by),
        }
        for name in ("relay-a", "relay-b")
    }
    assert issue["relays"] == expected
    assert sum(r["sent"] for r in issue["relays"].values()) == issue["counts"]["sent"] == 30

    table = cli.run("--config", str(config.path), "status").stderr
    assert "by relay" in table
    for name, counts in expected.items():
        failed = " (1 failed)" if counts["failed"] else ""
        assert f"{name} {counts['sent']}{failed}" in table


def test_status_shows_no_relay_column_for_one_relay(
    make_project: MakeProject, smtp_server: SmtpTestServer, cli: Cli
) -> None:
    extra = smtp_server.smtp_config() + '\n[transport]\nkind = "smtp"\n'
    config = load_config(make_project(subscribers=csv_of(people(3)), extra_config=extra))
    send(config)
    done = cli.run("--config", str(config.path), "status", "--format", "json")
    (issue,) = json.loads(done.stdout)
    assert issue["relays"] == {
        f"127.0.0.1:{smtp_server.port}": {"sent": 3, "deferred": 0, "failed": 0}
    }
    assert "by relay" not in cli.run("--config", str(config.path), "status").stderr


def test_a_send_to_the_maildir_records_no_relay(make_project: MakeProject) -> None:
    config = load_config(make_project(subscribers=csv_of(people(2))))
    report = send(config)
    assert report.relays == {}
    assert {d.relay for d in rows(config, people(2)).values()} == {None}


def test_the_send_summary_names_each_relays_share_and_its_trouble() -> None:
    from rich.console import Console

    from digestmail.cli.logs import EventLog
    from digestmail.cli.views import log_report, print_report
    from digestmail.deliver.counts import Counts, Outcome

    report = DeliveryReport(
        issue_id=ISSUE,
        counts=Counts({Outcome.SENT: 30}),
        relays={"relay-a": 10, "relay-b": 20},
        relay_notes=("relay relay-a: rested: cannot connect",),
    )
    console = Console(record=True, width=200)
    print_report(console, report)
    text = console.export_text()
    assert "by relay: relay-a 10, relay-b 20" in text
    assert "relay relay-a: rested: cannot connect" in text
    assert as_json(report)["relays"] == {"relay-a": 10, "relay-b": 20}

    stream = io.StringIO()
    log_report(EventLog(fmt="json", stream=stream), report)
    records = {r["message"]: r for r in map(json.loads, stream.getvalue().splitlines())}
    assert records["by relay"]["relays"] == {"relay-a": 10, "relay-b": 20}
    assert records["relay trouble"]["detail"] == "relay relay-a: rested: cannot connect"


def as_json(report: DeliveryReport) -> dict[str, object]:
    return dict(json.loads(json.dumps(report.as_dict())))
