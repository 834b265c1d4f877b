"""Send an issue, let three of its recipients bounce, and the next issue skips exactly them."""

from __future__ import annotations

import email
import mailbox
from pathlib import Path

from digestmail.message.verp import verp_address, verp_token
from digestmail.models import OutgoingMessage
from tests.helpers.cli import Cli
from tests.helpers.inbox import BOUNCE_ADDRESS, INBOX_CONFIG, SECRET, bounce, drop

ENV = {"DIGESTMAIL_SECRET": SECRET}


def sent_to(outbox: Path, issue_id: str) -> dict[str, OutgoingMessage]:
    """The outbox's messages of one issue, by recipient, as the ledger knows them."""
    out = {}
    for raw in mailbox.Maildir(outbox, create=False):
        msg = email.message_from_bytes(bytes(raw))
        message_id = str(msg["Message-ID"])
        if f"<{issue_id}." not in message_id:
            continue
        rcpt = email.utils.parseaddr(str(msg["To"]))[1]
        token = verp_token(SECRET, list_key="monthly", issue_id=issue_id, email=rcpt)
        sender = verp_address(BOUNCE_ADDRESS, token)
        # The envelope sender, written first as a mail server would on delivery.
        assert bytes(raw).startswith(f"Return-Path: <{sender}>\n".encode())
        out[rcpt] = OutgoingMessage(rcpt, message_id, bytes(raw), sender)
    return out


def test_three_bounced_readers_get_no_next_issue(sample_project: Path, cli: Cli) -> None:
    config = sample_project / "config" / "digestmail.toml"
    config.write_text(config.read_text(encoding="utf-8") + INBOX_CONFIG, encoding="utf-8")
    done = cli.invoke(
        "send",
        "--list",
        "monthly",
        "--period",
        "2026-10",
        "--now",
        "2026-11-24T12:00",
        "--yes",
        env=ENV,
        cwd=sample_project,
    )
    assert done.exit_code == 0, done.output
    first = sent_to(sample_project / "outbox", "monthly-2026-10")
    readers = sorted(first)
    assert len(readers) == 5
    gone = readers[:3]
    drop(
        sample_project / "inbox",
        bounce("dsn_511.eml", first[gone[0]]),
        bounce("postfix_style.eml", rcpt=gone[1]),
        bounce("dsn_message_id_only.eml", first[gone[2]]),
        bounce("out_of_office.eml", first[readers[3]]),
    )
    due = cli.invoke("run-due", "--now", "2026-12-01T09:00", env=ENV, cwd=sample_project)
    assert due.exit_code == 0, due.output
    second = sent_to(sample_project / "outbox", "monthly-2026-11")
    assert sorted(second) == readers[3:]
    listed = cli.invoke("suppressions", "--format", "json", env=ENV, cwd=sample_project)
    assert listed.exit_code == 0
    for reader in gone:
        assert reader in listed.output
    assert '"bounce"' in listed.output
    again = cli.invoke("inbox", env=ENV, cwd=sample_project)
    assert again.exit_code == 0 and "already handled" in again.output


def test_exit_codes_no_inbox_section_2_unreachable_mailbox_75(
    sample_project: Path, cli: Cli
) -> None:
    missing = cli.invoke("inbox", cwd=sample_project)
    assert missing.exit_code == 2 and "[inbox]" in missing.output
    config = sample_project / "config" / "digestmail.toml"
    unreachable = '\n[inbox]\nkind = "imap"\nhost = "127.0.0.1"\nport = 9\nsecurity = "none"\n'
    config.write_text(config.read_text(encoding="utf-8") + unreachable, encoding="utf-8")
    down = cli.invoke("inbox", cwd=sample_project)
    assert down.exit_code == 75, down.output
    assert "cannot connect" in down.output
