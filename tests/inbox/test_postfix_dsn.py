"""Real DSNs made by a real MTA: a throw-away Postfix bounces a digest to an unknown local user.

The message is the one digestmail sends (MessageFactory, VERP return path from
``[inbox] bounce_address``), handed to Postfix's smtpd on 127.0.0.1; Postfix's local delivery
agent finds no such user and its bounce daemon writes the DSN, which Postfix's virtual delivery
agent puts into a Maildir. That Maildir is the inbox ``digestmail inbox`` reads.
"""

from __future__ import annotations

import json
import smtplib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from digestmail.config import Config, load_config
from digestmail.ledger.store import Ledger
from tests.helpers.cli import Cli
from tests.helpers.inbox import SECRET, csv_of, record_send, suppressions
from tests.helpers.postfix import Postfix, start_postfix, why_not
from tests.helpers.project import MakeProject

_WHY_NOT = why_not()
pytestmark = pytest.mark.skipif(_WHY_NOT is not None, reason=_WHY_NOT or "")

BOUNCE_DOMAIN = "bounces.test"
GONE = "gone@localhost"
READERS = ["reader0@example.net", GONE, "reader2@example.net"]


@pytest.fixture
def postfix() -> Iterator[Postfix]:
    server = start_postfix(BOUNCE_DOMAIN)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def project(make_project: MakeProject, postfix: Postfix, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("DIGESTMAIL_SECRET", SECRET)
    extra = (
        f'\n[inbox]\nkind = "maildir"\nmaildir = "{postfix.maildir}"\n'
        f'bounce_address = "bounces@{BOUNCE_DOMAIN}"\n'
    )
    return load_config(make_project(subscribers=csv_of(READERS), extra_config=extra))


def wait_for_mail(maildir: Path, server: Postfix, timeout: float = 30) -> list[Path]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted((maildir / "new").glob("*")) if (maildir / "new").is_dir() else []
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"no DSN from Postfix within {timeout}s; its log:\n{server.log()}")


def test_postfix_dsn_for_an_unknown_local_user_suppresses_exactly_that_reader(
    project: Config, postfix: Postfix, cli: Cli
) -> None:
    sent = record_send(project, READERS)
    message = sent[GONE]
    assert message.sender.startswith("bounces+") and message.sender.endswith(BOUNCE_DOMAIN)
    with smtplib.SMTP("127.0.0.1", postfix.port, timeout=30) as smtp:
        smtp.sendmail(message.sender, [message.email], message.data)
    (dsn,) = wait_for_mail(postfix.maildir, postfix)
    raw = dsn.read_bytes()
    assert b"report-type=delivery-status" in raw and b"Status: 5.1.1" in raw
    assert f"To: {message.sender}".encode() in raw  # Postfix answered the VERP return path

    root = project.path.parent.parent
    env = {"DIGESTMAIL_SECRET": SECRET}
    done = cli.run("inbox", env=env, cwd=root)
    assert done.returncode == 0, done.stderr
    assert suppressions(project) == {(GONE, "monthly", "bounce")}
    with Ledger.open(project.state.path) as ledger:
        (only,) = ledger.suppressions()
        assert only.reason.startswith("bounce 5.1.1"), only.reason
        assert ledger.inbox.bounces_per_issue() == {"monthly-2017-11": (1, 0)}
    assert not list((postfix.maildir / "new").iterdir()), "an acted-on DSN is moved to .done"
    status = json.loads(cli.run("status", "--format", "json", env=env, cwd=root).stdout)
    assert [row["bounces"] for row in status] == [{"hard": 1, "soft": 0}]

    # The same DSN delivered again (a crash before the move): nothing changes.
    (postfix.maildir / "new" / "again").write_bytes(raw)
    again = cli.run("inbox", env=env, cwd=root)
    assert again.returncode == 0, again.stderr
    assert suppressions(project) == {(GONE, "monthly", "bounce")}
    with Ledger.open(project.state.path) as ledger:
        assert ledger.inbox.bounces_per_issue() == {"monthly-2017-11": (1, 0)}
