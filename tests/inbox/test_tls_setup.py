"""The inbox's TLS settings are checked before a byte reaches the server."""

from __future__ import annotations

from pathlib import Path

import pytest

from digestmail.config.model import InboxConfig
from digestmail.errors import MailboxSetupError
from digestmail.inbound.imap import ImapMailbox


def test_an_unreadable_ca_file_is_a_setup_error_naming_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-ca.pem"
    bad.write_text("not a certificate\n")
    mailbox = ImapMailbox(InboxConfig(host="127.0.0.1", port=1, security="tls", ca_file=bad))
    with pytest.raises(MailboxSetupError, match=r"^inbox\.ca_file .*not-a-ca\.pem: cannot load"):
        mailbox.open()
