"""VERP: with ``inbox.bounce_address`` every list message has its own signed return path."""

from __future__ import annotations

from pathlib import Path

import pytest

from digestmail.config import load_config
from digestmail.errors import ConfigError
from digestmail.message.factory import MessageFactory
from digestmail.message.verp import token_of, verp_address, verp_token
from digestmail.models import Issue
from tests.deliver.test_send import people, send, smtp_project
from tests.helpers.project import MakeProject
from tests.helpers.smtp_server import SmtpTestServer

SECRET = "s3cret-for-tests"
INBOX = '\n[inbox]\nkind = "maildir"\nbounce_address = "bounces@example.org"\n'


def test_token_is_short_case_free_and_found_again() -> None:
    token = verp_token(SECRET, list_key="monthly", issue_id="monthly-2017-11", email="a@x.org")
    assert len(token) == 16 and token == token.lower()
    address = verp_address("bounces@example.org", token)
    assert address == f"bounces+{token}@example.org"
    assert token_of("bounces@example.org", address.upper()) == token
    assert token_of("bounces@example.org", "bounces@example.org") is None
    assert token_of("bounces@example.org", f"other+{token}@example.org") is None
    other = verp_token(SECRET, list_key="weekly", issue_id="monthly-2017-11", email="a@x.org")
    assert other != token


def test_smtp_send_uses_one_verp_return_path_per_recipient(
    make_project: MakeProject, smtp_server: SmtpTestServer
) -> None:
    emails = people(5)
    config = smtp_project(make_project, smtp_server, emails)
    config.path.write_text(config.path.read_text(encoding="utf-8") + INBOX, encoding="utf-8")
    config = load_config(config.path)
    list_cfg = config.get_list("monthly")

    def factory(issue: Issue) -> MessageFactory:
        return MessageFactory(issue, config=config, list_cfg=list_cfg, secret=SECRET)

    report = send(config, make_factory=factory)
    assert report.exit_code == 0
    senders = {r.rcpt_tos[0]: r.mail_from for r in smtp_server.received}
    assert sorted(senders) == sorted(emails)
    for rcpt, sender in senders.items():
        token = verp_token(SECRET, list_key="monthly", issue_id="monthly-2017-11", email=rcpt)
        assert sender == f"bounces+{token}@example.org"
    assert len(set(senders.values())) == 5


def test_bounce_address_without_secret_is_a_config_error(
    make_project: MakeProject, tmp_path: Path
) -> None:
    config = load_config(make_project(extra_config=INBOX))
    issue = Issue(
        id="monthly-2017-11", list_name="monthly", period="2017-11", subject="S", html="h", text="t"
    )
    with pytest.raises(ConfigError, match=r"inbox\.bounce_address.*DIGESTMAIL_SECRET"):
        MessageFactory(issue, config=config, list_cfg=config.get_list("monthly"), secret=None)
