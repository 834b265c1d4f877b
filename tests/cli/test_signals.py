"""``digestmail send`` itself under SIGTERM/SIGINT and SIGKILL, against a real SMTP relay.

The engine's own crash tests drive it through a small driver; these run the installed command a
user (or systemd) runs, so the CLI's signal handling and exit codes are covered too.
"""

from __future__ import annotations

import collections
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import Cli
from tests.helpers.project import MakeProject
from tests.helpers.smtp_server import PASSWORD_ENV, Faults, SmtpTestServer

RECIPIENTS = [f"leser{i}@example.net" for i in range(120)]
CONNECTIONS = 3


def start_send(cli: Cli, config: Path) -> subprocess.Popen[str]:
    return cli.popen(
        *("--config", str(config), "send"),
        *("--list", "monthly", "--period", "2017-11", "--now", "2017-12-02T09:00", "--yes"),
        env=PASSWORD_ENV,
    )


def wait_for(server: SmtpTestServer, count: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while len(server.received) < count:
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "the send never got going"
        time.sleep(0.02)


@pytest.fixture
def slow_relay(tmp_path: Path, smtp_password: str) -> Iterator[SmtpTestServer]:
    server = SmtpTestServer(tmp_path, faults=Faults(delay=0.03)).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def config(make_project: MakeProject, slow_relay: SmtpTestServer) -> Path:
    post = """
        ---
        title: "Werkstatt"
        date: "2017-11-10"
        categories: veranstaltungstipp
        ---
        Termin: 8. Dezember 2017
        """
    return make_project(
        posts={"veranstaltungstipp/werkstatt.md": post},
        subscribers="email,name\n" + "".join(f"{e},Leser\n" for e in RECIPIENTS),
        extra_config=slow_relay.smtp_config(connections=CONNECTIONS)
        + '\n[transport]\nkind = "smtp"\n',
    )


def copies(server: SmtpTestServer) -> collections.Counter[str]:
    return collections.Counter(server.recipients())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_finishes_in_flight_work_and_exits_75_then_resumes(
    config: Path, slow_relay: SmtpTestServer, signum: signal.Signals, cli: Cli
) -> None:
    proc = start_send(cli, config)
    wait_for(slow_relay, 10, proc)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 75, err
    assert "resume" in err or "interrupted" in err
    stopped_at = len(slow_relay.received)
    assert stopped_at < len(RECIPIENTS), "the signal came too late to test anything"
    assert max(copies(slow_relay).values()) == 1, "a clean stop records every delivery"

    again = start_send(cli, config)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert copies(slow_relay) == dict.fromkeys(RECIPIENTS, 1)


def test_after_sigkill_everyone_gets_it_with_at_most_one_extra_copy_per_connection(
    config: Path, slow_relay: SmtpTestServer, cli: Cli
) -> None:
    proc = start_send(cli, config)
    wait_for(slow_relay, 10, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)

    again = start_send(cli, config)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    got = copies(slow_relay)
    assert set(got) == set(RECIPIENTS)
    extra = sum(n - 1 for n in got.values())
    assert extra <= CONNECTIONS, got.most_common(5)
