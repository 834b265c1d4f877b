"""Small builders the transport and delivery tests share, so they need no renderer.

:class:`TinyFactory` makes wire-ready messages the way the real message factory promises to
(CRLF, no leading dots) from an :class:`~digestmail.models.Issue`, with a unique Message-ID.
"""

from __future__ import annotations

import itertools
from email.message import EmailMessage
from email.policy import SMTP

from digestmail.models import Issue, OutgoingMessage, Recipient

_counter = itertools.count(1)


def outgoing(
    email: str,
    *,
    subject: str = "Test digest",
    body: str = "Hallo!\n",
    message_id: str | None = None,
) -> OutgoingMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = "Tipps <tipps@example.org>"
    msg["To"] = email
    msg["Subject"] = subject
    message_id = message_id or f"<{next(_counter)}.test@example.org>"
    msg["Message-ID"] = message_id
    msg.set_content(body)
    return OutgoingMessage(email=email, message_id=message_id, data=msg.as_bytes())


class TinyFactory:
    """Stands in for message.MessageFactory: one message per recipient from an issue."""

    def __init__(self, issue: Issue) -> None:
        self.issue = issue
        self.built = 0

    def build(self, recipient: Recipient) -> OutgoingMessage:
        self.built += 1
        return outgoing(
            recipient.email,
            subject=self.issue.subject,
            body=self.issue.text,
            message_id=self.message_id(recipient.email),
        )

    def message_id(self, email: str) -> str:
        return f"<{self.issue.id}.{email.replace('@', '.')}@test.example.org>"


def make_issue(issue_id: str = "monthly-2017-11", *, text: str = "Tipps\n") -> Issue:
    return Issue(
        id=issue_id,
        list_name="monthly",
        period=issue_id.removeprefix("monthly-"),
        subject="Veranstaltungstipps – November 2017",
        html=f"<p>{text}</p>",
        text=text,
    )
