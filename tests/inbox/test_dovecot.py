"""The inbox against a real IMAP server: Dovecot on 127.0.0.1, over TLS and over STARTTLS."""

from __future__ import annotations

import dataclasses
import imaplib
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest

import digestmail.app.inbox.process as process
import digestmail.inbound.imap as imap_module
from digestmail.config import Config, load_config
from digestmail.errors import MailboxSetupError
from digestmail.inbound.imap import groups, uid_set
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


@pytest.mark.parametrize("uidplus", [True, False], ids=["copy-expunge", "copy-flag"])
def test_a_server_without_move_gets_copy_and_deleted_flag(
    make_project: MakeProject, tmp_path: Path, uidplus: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without MOVE: UID COPY, then \\Deleted, then UID EXPUNGE of exactly those UIDs where
    UIDPLUS allows it. A message a person flagged stays; nothing is handled or copied twice."""
    caps = "IMAP4rev1 LITERAL+ SASL-IR IDLE NAMESPACE" + (" UIDPLUS" if uidplus else "")
    server = start_dovecot(tmp_path / "nomove", capabilities=caps)
    try:
        monkeypatch.setenv("DIGESTMAIL_SECRET", SECRET)
        monkeypatch.setenv("DM_TEST_IMAP_PW", PASSWORD)
        config = imap_project(make_project, server, "tls")
        sent = record_send(config, READERS)
        imap = client(server)
        for data in (
            bounce("dsn_511.eml", sent[READERS[0]]),
            bounce("exim_style.eml", rcpt=READERS[1]),
            bounce("verp_only.eml", sent[READERS[2]]),
        ):
            imap.append("INBOX", None, None, data)
        imap.append("INBOX", r"(\Deleted)", None, bounce("out_of_office.eml", sent[READERS[4]]))
        imap.append("INBOX", None, None, bounce("out_of_office.eml", sent[READERS[5]]))
        imap.logout()
        commands: list[str] = []
        real_uid = imaplib.IMAP4.uid

        def spy(self: imaplib.IMAP4, command: str, *args: str) -> tuple[str, list[object]]:
            commands.append(command.upper())
            return real_uid(self, command, *args)  # type: ignore[no-any-return]

        monkeypatch.setattr(imaplib.IMAP4, "uid", spy)

        report = run_inbox(config)
        assert report.outcomes["hard"] == 3
        assert "MOVE" not in commands and "COPY" in commands
        assert ("EXPUNGE" in commands) is uidplus
        assert suppressions(config) == {(r, "monthly", "bounce") for r in READERS[:3]}
        assert count(server, "digestmail done") == 3
        imap = client(server)
        imap.select("INBOX", readonly=True)
        flagged = imap.uid("SEARCH", "DELETED")[1][0].split()
        undeleted = imap.uid("SEARCH", "UNDELETED")[1][0].split()
        imap.logout()
        # The person's flagged message is never expunged; ours are, where UIDPLUS allows it.
        assert len(flagged) == (1 if uidplus else 4) and len(undeleted) == 1

        again = run_inbox(config)
        assert sum(again.outcomes.values()) == 1  # only the unflagged out-of-office
        assert count(server, "digestmail done") == 3
    finally:
        server.stop()


def test_untrusted_certificate_is_a_setup_error(
    make_project: MakeProject, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DM_TEST_IMAP_PW", PASSWORD)
    config = imap_project(make_project, dovecot, "tls", ca=False)
    with pytest.raises(MailboxSetupError, match="not trusted"):
        run_inbox(config)


def test_an_unreadable_ca_file_is_a_setup_error_after_starttls(
    make_project: MakeProject, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """STARTTLS builds its context once connected; a bad CA file is still exit 2, not 75."""
    monkeypatch.setenv("DM_TEST_IMAP_PW", PASSWORD)
    config = imap_project(make_project, dovecot, "starttls")
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("not a certificate\n")
    config = dataclasses.replace(config, inbox=dataclasses.replace(config.inbox, ca_file=bad))
    with pytest.raises(MailboxSetupError, match=r"inbox\.ca_file .*cannot load"):
        run_inbox(config)


def test_wrong_password_is_a_setup_error(
    make_project: MakeProject, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DM_TEST_IMAP_PW", "wrong")
    config = imap_project(make_project, dovecot, "starttls")
    with pytest.raises(MailboxSetupError, match="refused"):
        run_inbox(config)


def test_imap_fetches_in_groups_and_moves_a_batch_at_once(
    make_project: MakeProject, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Groups of 4 fetched, batches of 5 moved (UID sets with ranges and gaps): every handled
    message moved once, every other one left, and each suppression made."""
    monkeypatch.setattr(imap_module, "FETCH_MESSAGES", 4)
    monkeypatch.setattr(process, "BATCH_MESSAGES", 5)
    monkeypatch.setattr(process, "BATCH_SECONDS", 3600.0)
    monkeypatch.setenv("DIGESTMAIL_SECRET", SECRET)
    monkeypatch.setenv("DM_TEST_IMAP_PW", PASSWORD)
    config = imap_project(make_project, dovecot, "starttls")
    sent = record_send(config, READERS)
    imap = client(dovecot)
    for n in range(24):
        reader = READERS[n % len(READERS)]
        name = "dsn_511.eml" if n % 3 else "out_of_office.eml"
        data = bounce(name, sent[reader]).replace(b"Message-ID: <", f"Message-ID: <{n}.".encode())
        imap.append("INBOX", None, None, data.replace(b"\n", b"\r\n"))
    imap.logout()

    report = run_inbox(config)
    assert report.outcomes == {"hard": 16, "autoreply": 8}
    assert suppressions(config) == {(READERS[i], "monthly", "bounce") for i in (1, 2, 4, 5)}
    assert count(dovecot, "digestmail done") == 16
    assert count(dovecot, "INBOX") == 8


def test_uid_sets_are_ranges() -> None:
    assert uid_set(["7", "3", "4", "5", "9", "10", "4"]) == "3:5,7,9:10"
    assert uid_set(["1"]) == "1"
    big = [(str(n), 1000) for n in range(1, 12)] + [("12", 10 << 20), ("13", 10)]
    assert [len(g) for g in groups(big)] == [11, 1, 1]
