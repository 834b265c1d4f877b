"""The inbox against a real IMAP server: Dovecot on 127.0.0.1, over TLS and over STARTTLS."""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

from digestmail.config import Config, load_config
from digestmail.errors import MailboxSetupError
from tests.helpers.dovecot import DOVECOT, PASSWORD, USER, Dovecot, start_dovecot
from tests.helpers.inbox import (
    BOUNCE_ADDRESS,
    SECRET,
    bounce,
    csv_of,
    people,
    record_send,
    run_inbox,
    suppressions,
)
from tests.helpers.project import MakeProject

pytestmark = pytest.mark.skipif(
    not DOVECOT.exists(), reason="Dovecot is not installed (apt-get install dovecot-imapd)"
)
READERS = people(6)


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    server = start_dovecot(tmp_path / "dovecot")
    try:
        yield server
    finally:
        server.stop()


def imap_project(
    make_project: MakeProject, server: Dovecot, security: str, *, ca: bool = True
) -> Config:
    port = server.imaps_port if security == "tls" else server.imap_port
    ca_line = f'ca_file = "{server.ca_file}"\n' if ca else ""
    extra = (
        f'\n[inbox]\nkind = "imap"\nhost = "localhost"\nport = {port}\n'
        f'security = "{security}"\nusername = "{USER}"\npassword_env = "DM_TEST_IMAP_PW"\n'
        f'folder = "INBOX"\ndone_folder = "digestmail done"\n{ca_line}'
        f'bounce_address = "{BOUNCE_ADDRESS}"\n'
    )
    return load_config(make_project(subscribers=csv_of(READERS), extra_config=extra))


def client(server: Dovecot) -> imaplib.IMAP4:
    context = ssl.create_default_context(cafile=str(server.ca_file))
    imap = imaplib.IMAP4_SSL("localhost", server.imaps_port, ssl_context=context)
    imap.login(USER, PASSWORD)
    return imap


def count(server: Dovecot, folder: str) -> int:
    imap = client(server)
    try:
        typ, data = imap.select(f'"{folder}"', readonly=True)
        return int(data[0] or 0) if typ == "OK" else -1
    finally:
        imap.logout()


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_imap_inbox_suppresses_moves_and_is_idempotent(
    make_project: MakeProject,
    dovecot: Dovecot,
    security: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DIGESTMAIL_SECRET", SECRET)
    monkeypatch.setenv("DM_TEST_IMAP_PW", PASSWORD)
    config = imap_project(make_project, dovecot, security)
    sent = record_send(config, READERS)
    mails = [
        bounce("dsn_511.eml", sent[READERS[0]]),
        bounce("exim_style.eml", rcpt=READERS[1]),
        bounce("verp_only.eml", sent[READERS[2]]),
        bounce("policy_571.eml", sent[READERS[3]]),
        bounce("out_of_office.eml", sent[READERS[4]]),
        bounce("malformed.eml"),
    ]
    imap = client(dovecot)
    for data in mails:
        imap.append("INBOX", None, None, data.replace(b"\n", b"\r\n"))
    imap.logout()

    report = run_inbox(config)
    assert report.outcomes["hard"] == 3 and report.malformed == ["<malformed.1@broken.example.net>"]
    expected = {(READERS[i], "monthly", "bounce") for i in (0, 1, 2)}
    assert suppressions(config) == expected
    assert count(dovecot, "digestmail done") == 3
    assert count(dovecot, "INBOX") == 3  # policy, out of office, malformed: for a person

    again = run_inbox(config)
    assert suppressions(config) == expected
    assert again.outcomes["already seen"] == 2 and again.outcomes["malformed"] == 1
    assert count(dovecot, "digestmail done") == 3 and count(dovecot, "INBOX") == 3


def test_untrusted_certificate_is_a_setup_error(
    make_project: MakeProject, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DM_TEST_IMAP_PW", PASSWORD)
    config = imap_project(make_project, dovecot, "tls", ca=False)
    with pytest.raises(MailboxSetupError, match="not trusted"):
        run_inbox(config)


def test_wrong_password_is_a_setup_error(
    make_project: MakeProject, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DM_TEST_IMAP_PW", "wrong")
    config = imap_project(make_project, dovecot, "starttls")
    with pytest.raises(MailboxSetupError, match="refused"):
        run_inbox(config)
