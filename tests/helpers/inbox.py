"""Helpers for the inbox tests: a project whose list was "sent", and bounces made from the
hand-written templates in ``tests/fixtures/inbox`` (``${rcpt}``, ``${verp}``, ``${message_id}``).
"""

from __future__ import annotations

import asyncio
import mailbox
from pathlib import Path
from string import Template

from digestmail.app.inbox.process import InboxReport, InboxRun
from digestmail.config import Config
from digestmail.deliver.transports.maildir import MaildirTransport
from digestmail.ledger.store import DeliveryResult, Ledger
from digestmail.message.factory import MessageFactory
from digestmail.models import DeliveryStatus, Issue, OutgoingMessage, Recipient
from tests.helpers.paths import REPO

SECRET = "inbox-test-secret"
FIXTURES = REPO / "tests" / "fixtures" / "inbox"
BOUNCE_ADDRESS = "bounces@example.org"
INBOX_CONFIG = f"""
[inbox]
kind = "maildir"
maildir = "inbox"
bounce_address = "{BOUNCE_ADDRESS}"
"""


def people(n: int) -> list[str]:
    return [f"reader{i}@example.net" for i in range(n)]


def csv_of(emails: list[str]) -> str:
    return "email,name\n" + "".join(f"{e},Reader {i}\n" for i, e in enumerate(emails))


def record_send(
    config: Config, emails: list[str], period: str = "2017-11"
) -> dict[str, OutgoingMessage]:
    """Build every recipient's message as a send would and record it as sent in the ledger."""
    list_cfg = config.get_list("monthly")
    issue = Issue(
        id=f"monthly-{period}",
        list_name="monthly",
        period=period,
        subject="Tipps",
        html="<p>Tipps</p>",
        text="Tipps",
    )
    factory = MessageFactory(issue, config=config, list_cfg=list_cfg, secret=SECRET)
    messages = {e: factory.build(Recipient(email=e)) for e in emails}
    with Ledger.open(config.state.path) as ledger:
        ledger.store_issue(issue, content_hash="x")
        ledger.mark_attempting(issue.id, [(e, m.message_id) for e, m in messages.items()])
        ledger.record_results(
            issue.id, [DeliveryResult(e, DeliveryStatus.SENT, 250, "ok") for e in emails]
        )
    return messages


def bounce(name: str, message: OutgoingMessage | None = None, *, rcpt: str = "") -> bytes:
    """A fixture filled in for one delivery (its address, VERP return path and Message-ID)."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    values = {"bounce_address": BOUNCE_ADDRESS, "rcpt": rcpt}
    if message is not None:
        values |= {
            "rcpt": rcpt or message.email,
            "verp": message.sender,
            "message_id": message.message_id,
        }
    return Template(text).substitute(values).encode("utf-8")


def drop(directory: Path, *messages: bytes) -> None:
    """Deliver into a Maildir as a mail server would (tmp/ then new/)."""
    box = mailbox.Maildir(directory, create=True)
    for data in messages:
        box.add(data)


def run_inbox(config: Config, *, dry_run: bool = False) -> InboxReport:
    with Ledger.open(config.state.path) as ledger:
        return asyncio.run(InboxRun(config, ledger, dry_run=dry_run).run())


def suppressions(config: Config) -> set[tuple[str, str | None, str]]:
    with Ledger.open(config.state.path) as ledger:
        return {(s.email, s.list_key, s.source) for s in ledger.suppressions()}


def outbox(config: Config) -> list[bytes]:
    assert isinstance(MaildirTransport, type)
    directory = config.transport.maildir
    if not directory.exists():
        return []
    return [bytes(m) for m in mailbox.Maildir(directory, create=False)]
