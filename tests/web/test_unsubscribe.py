"""Issue 10 acceptance: one-click unsubscribe over real HTTP, against mail that was really sent.

An issue is sent into the sample project's Maildir; the ``List-Unsubscribe`` URL is taken out
of a delivered message and POSTed to a real uvicorn; the next issue must not reach that address.
"""

from __future__ import annotations

import email
import email.policy
import logging
import mailbox
import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from digestmail.ledger import Ledger
from tests.helpers.cli import Cli
from tests.helpers.web import SECRET, Served

NOW = "2026-12-24T12:00"
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def send(cli: Cli, project: Path, period: str) -> None:
    done = cli.invoke(
        "send", "--list", "monthly", "--period", period, "--now", NOW, "--yes",
        env={"DIGESTMAIL_SECRET": SECRET}, cwd=project,
    )  # fmt: skip
    assert done.exit_code == 0, done.output


def delivered(project: Path) -> list[EmailMessage]:
    out = []
    for item in mailbox.Maildir(project / "outbox", create=False):
        msg = email.message_from_bytes(item.as_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        out.append(msg)
    return out


def recipients_of(messages: list[EmailMessage], subject_part: str) -> set[str]:
    return {
        m["To"].addresses[0].addr_spec.lower() for m in messages if subject_part in m["Subject"]
    }


def one_click_url(msg: EmailMessage) -> str:
    urls = re.findall(r"<(http[^>]+)>", str(msg["List-Unsubscribe"]))
    assert len(urls) == 1 and msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    return urls[0]


def suppressions(served: Served) -> list[tuple[str, str | None, str]]:
    with Ledger.open(served.config.state.path) as ledger:
        return [(s.email, s.list_key, s.source) for s in ledger.suppressions()]


@pytest.fixture
def first_issue(serve: Served, cli: Cli) -> list[EmailMessage]:
    send(cli, serve.project, "2026-10")
    return delivered(serve.project)


def test_one_click_post_unsubscribes_and_the_next_issue_skips_the_address(
    serve: Served, cli: Cli, first_issue: list[EmailMessage]
) -> None:
    target = first_issue[0]
    address = target["To"].addresses[0].addr_spec.lower()
    url = one_click_url(target)
    assert url.startswith(serve.base_url + "unsubscribe?list=monthly&token=")

    answer = httpx.post(url, data=ONE_CLICK, follow_redirects=False)
    assert answer.status_code == 200
    assert "set-cookie" not in answer.headers
    assert "Abgemeldet" in answer.text and 'lang="de"' in answer.text
    # Committed before the answer: readable by another connection right away.
    assert suppressions(serve) == [(address, "monthly", "web")]

    send(cli, serve.project, "2026-11")
    mailed = delivered(serve.project)
    november = recipients_of(mailed, "November")
    assert november, "the second issue went out"
    assert address not in november
    assert november == recipients_of(mailed, "Oktober") - {address}


def test_multipart_one_click_works_too(serve: Served, first_issue: list[EmailMessage]) -> None:
    url = one_click_url(first_issue[1])
    answer = httpx.post(url, files={"List-Unsubscribe": (None, "One-Click")})
    assert answer.status_code == 200
    assert len(suppressions(serve)) == 1


def test_get_shows_a_button_and_changes_nothing(
    serve: Served, first_issue: list[EmailMessage]
) -> None:
    url = one_click_url(first_issue[0])
    for _ in range(3):
        page = httpx.get(url)
        assert page.status_code == 200
        assert '<form method="post"' in page.text
        assert 'name="List-Unsubscribe" value="One-Click"' in page.text
    head = httpx.head(url)
    assert head.status_code in (200, 405)
    assert suppressions(serve) == []


def tampered(url: str) -> list[str]:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    token = query["token"][0]
    base = f"{parts.scheme}://{parts.netloc}{parts.path}"
    address_part, mac = token.split(".")
    flipped = mac[:-2] + ("AA" if mac[-2:] != "AA" else "BB")
    return [
        f"{base}?list=monthly&token={token[:-3]}",  # truncated
        f"{base}?list=monthly&token={address_part}.{flipped}",  # forged MAC
        f"{base}?list=monthly&token={address_part}",  # MAC cut off
        f"{base}?list=weekly&token={token}",  # other (unknown) list
        f"{base}?list=monthly",  # no token
        f"{base}?list=monthly&token=",
    ]


def test_forged_truncated_and_other_list_tokens_change_nothing(
    serve: Served, first_issue: list[EmailMessage]
) -> None:
    for bad in tampered(one_click_url(first_issue[0])):
        posted = httpx.post(bad, data=ONE_CLICK)
        assert posted.status_code == 400, bad
        assert "Ungültiger Link" in posted.text
        assert httpx.get(bad).status_code == 400
    assert suppressions(serve) == []


def test_token_of_another_list_is_refused(serve: Served, sample_project: Path) -> None:
    from digestmail.message.unsubscribe import unsubscribe_token

    token = unsubscribe_token(SECRET, "weekly", "anna.schmidt@example.org")
    url = f"{serve.base_url}unsubscribe?list=monthly&token={token}"
    assert httpx.post(url, data=ONE_CLICK).status_code == 400
    assert suppressions(serve) == []


def test_post_without_one_click_body_changes_nothing(
    serve: Served, first_issue: list[EmailMessage]
) -> None:
    url = one_click_url(first_issue[0])
    assert httpx.post(url, data={"List-Unsubscribe": "yes"}).status_code == 400
    assert httpx.post(url).status_code == 400
    assert suppressions(serve) == []


def test_answers_under_the_base_path_too(serve: Served) -> None:
    assert httpx.get(serve.base_url + "healthz").text == "ok\n"


def test_oversized_body_gets_413(serve: Served, first_issue: list[EmailMessage]) -> None:
    url = one_click_url(first_issue[0])
    big = {"List-Unsubscribe": "One-Click", "pad": "x" * 100_000}
    assert httpx.post(url, data=big).status_code == 413

    def chunks() -> Iterator[bytes]:
        yield b"List-Unsubscribe=One-Click&pad="
        for _ in range(10):
            yield b"x" * 4096

    streamed = httpx.post(
        url, content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert streamed.status_code == 413
    assert suppressions(serve) == []


def test_log_lines_hold_neither_token_nor_address(
    serve: Served, first_issue: list[EmailMessage], caplog: pytest.LogCaptureFixture
) -> None:
    msg = first_issue[0]
    address = msg["To"].addresses[0].addr_spec
    url = one_click_url(msg)
    token = parse_qs(urlsplit(url).query)["token"][0]
    with caplog.at_level(logging.INFO, logger="digestmail.web"):
        httpx.get(url)
        httpx.post(url, data=ONE_CLICK)
        httpx.post(serve.base_url + "subscribe", data={"email": address, "list": "monthly"})
    lines = [r.getMessage() for r in caplog.records if r.name == "digestmail.web"]
    assert any(line.startswith("POST /unsubscribe 200") for line in lines), lines
    text = "\n".join(lines)
    assert token not in text and token[:12] not in text
    assert address not in text and address.split("@")[0] not in text
