"""Issue 10 acceptance: double opt-in over real HTTP, the confirmation mail really sent.

A sign-up mails exactly one confirmation into the Maildir; its link's GET shows a button and
changes nothing, its POST subscribes, and the next send includes the address. The answer is the
same whatever the address's state, and the limits cap how many mails one address can cause.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest

from digestmail.ledger import Ledger
from tests.helpers.cli import Cli
from tests.helpers.web import SECRET, Served
from tests.web.test_unsubscribe import ONE_CLICK, delivered, one_click_url, recipients_of, send

NEW = "neu.leserin@example.org"


def confirmations(project: Path) -> list[str]:
    """The confirm links of every confirmation mail in the outbox, oldest first."""
    if not (project / "outbox").exists():
        return []
    links = []
    for msg in delivered(project):
        if "Anmeldung" in msg["Subject"]:
            body = msg.get_body(("plain",))
            assert body is not None
            links += re.findall(r"http://127\.0\.0\.1:\d+/confirm\?token=\S+", body.get_content())
    return links


def sign_up(served: Served, **fields: str | list[str]) -> httpx.Response:
    data = {"email": NEW, "name": "Neue Leserin", "list": "monthly", **fields}
    return httpx.post(served.base_url + "subscribe", data=data)


def subscribed(served: Served) -> list[str]:
    with Ledger.open(served.config.state.path) as ledger:
        return [s.email for s in ledger.subscriptions("monthly")]


def test_sign_up_confirm_and_the_next_send_includes_the_address(serve: Served, cli: Cli) -> None:
    answer = sign_up(serve)
    assert answer.status_code == 200 and "Bitte bestätigen" in answer.text
    (link,) = confirmations(serve.project)
    assert subscribed(serve) == []

    page = httpx.get(link)
    assert page.status_code == 200 and '<form method="post" action="confirm">' in page.text
    assert subscribed(serve) == [], "GET never subscribes"

    token = link.split("token=", 1)[1]
    from urllib.parse import unquote

    done = httpx.post(serve.base_url + "confirm", data={"token": unquote(token)})
    assert done.status_code == 200 and "Veranstaltungstipps" in done.text
    assert subscribed(serve) == [NEW]
    with Ledger.open(serve.config.state.path) as ledger:
        (record,) = list(ledger.subscriptions("monthly"))
    assert record.name == "Neue Leserin" and record.ip is None
    assert record.requested_at <= record.confirmed_at

    send(cli, serve.project, "2026-10")
    assert NEW in recipients_of(delivered(serve.project), "Oktober")

    export = cli.invoke("subscribers", "export", "--list", "monthly", cwd=serve.project)
    assert export.exit_code == 0, export.output
    lines = export.output.splitlines()
    assert lines[0] == "email,name,source,confirmed"
    assert lines[-1].startswith(f"{NEW},Neue Leserin,web,20")
    assert all(",csv," in line for line in lines[1:-1])


def test_repeated_sign_ups_mail_no_more_than_the_limit(serve: Served) -> None:
    answers = [sign_up(serve, email=NEW.upper() if i % 2 else NEW) for i in range(8)]
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1, "the same answer every time"
    assert len(confirmations(serve.project)) == serve.config.web.signups_per_hour == 5


def test_per_ip_limit_answers_429(serve: Served) -> None:
    codes = [sign_up(serve, email=f"r{i}@example.org").status_code for i in range(32)]
    assert codes[:30] == [200] * 30 and codes[30:] == [429, 429]
    assert len(confirmations(serve.project)) == 30


def test_json_answer_and_the_honeypot(serve: Served) -> None:
    headers = {"Accept": "application/json"}
    caught = httpx.post(
        serve.base_url + "subscribe",
        data={"email": NEW, "list": "monthly", "website": "http://spam.example"},
        headers=headers,
    )
    honest = httpx.post(
        serve.base_url + "subscribe", data={"email": NEW, "list": "monthly"}, headers=headers
    )
    assert caught.json() == honest.json() == {"status": "pending"}
    assert len(confirmations(serve.project)) == 1


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"email": "not an address"}, "gültige E-Mail-Adresse"),
        ({"list": "weekly"}, "wählen Sie eine Liste"),
    ],
)
def test_bad_form_gets_400_and_no_mail(serve: Served, fields: dict[str, str], words: str) -> None:
    answer = sign_up(serve, **fields)
    assert answer.status_code == 400 and words in answer.text
    assert confirmations(serve.project) == []


def test_forged_and_expired_confirm_tokens_change_nothing(serve: Served) -> None:
    from datetime import UTC, datetime, timedelta

    from digestmail.message.signup import SignUp, confirm_token

    old = SignUp(NEW, ("monthly",), "", datetime.now(UTC) - timedelta(days=8))
    expired = confirm_token(SECRET, old)
    forged = confirm_token("another secret", SignUp(NEW, ("monthly",), "", datetime.now(UTC)))
    for token in (expired, forged, expired[:-4], ""):
        assert httpx.get(serve.base_url + "confirm", params={"token": token}).status_code == 400
        assert httpx.post(serve.base_url + "confirm", data={"token": token}).status_code == 400
    assert subscribed(serve) == []


def test_confirmed_sign_up_lifts_the_earlier_one_click_unsubscribe(serve: Served, cli: Cli) -> None:
    send(cli, serve.project, "2026-10")
    msg = delivered(serve.project)[0]
    address = msg["To"].addresses[0].addr_spec
    assert httpx.post(one_click_url(msg), data=ONE_CLICK).status_code == 200
    suppressed = cli.invoke("suppressions", "--format", "json", cwd=serve.project)
    (row,) = json.loads(suppressed.output)
    assert (row["email"], row["list"], row["source"]) == (address, "monthly", "web")

    sign_up(serve, email=address)
    (link,) = confirmations(serve.project)
    from urllib.parse import unquote

    token = unquote(link.split("token=", 1)[1])
    assert httpx.post(serve.base_url + "confirm", data={"token": token}).status_code == 200
    assert (
        json.loads(cli.invoke("suppressions", "--format", "json", cwd=serve.project).output) == []
    )
    send(cli, serve.project, "2026-11")
    assert address.lower() in recipients_of(delivered(serve.project), "November")
