"""Issue 10 acceptance: serve and a running send share the ledger without losing anything.

A real uvicorn on 127.0.0.1 (a thread of the test) answers one-click POSTs for distinct
subscribers while a send runs in a process of its own (``tests.helpers.send_driver``) into the
project's Maildir. Afterwards: every POST answered 200 has its suppression, the send finished
with every delivery recorded, neither side met "database is locked", and no address whose
suppression was committed before its message's attempt was recorded got the message.

Full size (the issue's 2,000 POSTs during a 10,000-recipient send) unless
``DIGESTMAIL_CONCURRENCY_SCALE`` says otherwise; see ``SCALE``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from digestmail.ledger import Ledger
from digestmail.ledger.records import parse_time
from digestmail.message.unsubscribe import unsubscribe_token
from tests.helpers.paths import REPO
from tests.helpers.project import MakeProject
from tests.helpers.web import SECRET, bind_local, run_app, web_section

SCALE = float(os.environ.get("DIGESTMAIL_CONCURRENCY_SCALE", "1"))
"""1 = the issue's sizes; CI may run a fraction (the bench always runs full size)."""
RECIPIENTS = int(10_000 * SCALE)
POSTS = int(2_000 * SCALE)
CLIENTS = 16
"""POSTs in flight at once."""
ISSUE = "monthly-2017-11"


def person(i: int) -> str:
    return f"reader{i:05d}@example.net"


def start_send(config_path: Path) -> subprocess.Popen[str]:
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.send_driver", str(config_path)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": pythonpath},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_first_message(outbox: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not (outbox / "new").is_dir() or not any((outbox / "new").iterdir()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the send did not start"
        time.sleep(0.01)


async def post_all(base_url: str, emails: list[str]) -> dict[str, tuple[int, datetime]]:
    """POST one-click for each address, CLIENTS at a time: status and when it was answered."""
    answers: dict[str, tuple[int, datetime]] = {}
    todo = iter(emails)
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as client:

        async def worker() -> None:
            for email in todo:
                token = unsubscribe_token(SECRET, "monthly", email)
                response = await client.post(
                    "unsubscribe",
                    params={"list": "monthly", "token": token},
                    data={"List-Unsubscribe": "One-Click"},
                )
                answers[email] = (response.status_code, datetime.now(UTC))

        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return answers


def ledger_rows(path: Path) -> tuple[dict[str, tuple[str, datetime]], dict[str, datetime]]:
    """(address -> (delivery status, attempt recorded at), address -> suppression created)."""
    with Ledger.open(path) as ledger:
        deliveries = ledger._read(
            "SELECT email, status, created_at FROM deliveries WHERE issue_id = ?", (ISSUE,)
        )
        suppressed = {s.email: s.created_at for s in ledger.suppressions("monthly")}
    out = {}
    for email, status, created in deliveries:
        moment = parse_time(str(created))
        assert moment is not None
        out[str(email)] = (str(status), moment)
    return out, suppressed


def test_one_click_posts_during_a_send_lose_nothing(
    make_project: MakeProject, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    sock = bind_local()
    rows = "".join(f"{person(i)},Reader {i}\n" for i in range(RECIPIENTS))
    config_path = make_project(
        subscribers="email,name\n" + rows, extra_config=web_section(sock.getsockname()[1])
    )
    emails = random.Random(10).sample([person(i) for i in range(RECIPIENTS)], POSTS)

    with run_app(config_path, sock) as served:
        proc = start_send(config_path)
        try:
            wait_for_first_message(served.project / "outbox", proc)
            began = time.monotonic()
            answers = asyncio.run(post_all(served.base_url, emails))
            posting = time.monotonic() - began
            out, err = proc.communicate(timeout=240)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()

    assert proc.returncode == 0, err
    report = json.loads(out)
    assert "locked" not in err.lower() and "locked" not in caplog.text.lower()
    assert {status for status, _ in answers.values()} == {200}
    assert len(answers) == POSTS

    deliveries, suppressed = ledger_rows(served.config.state.path)
    assert set(suppressed) == set(emails)  # every answered POST has its suppression
    assert len(deliveries) == RECIPIENTS  # every recipient has its outcome recorded
    statuses = [status for status, _ in deliveries.values()]
    assert set(statuses) <= {"sent", "suppressed"}
    assert report["sent"] == statuses.count("sent")
    assert report["suppressed"] == statuses.count("suppressed") > 0, report

    # A suppression committed (its 200 received) before the message's attempt was recorded
    # must have stopped the message. By the ledger's own clocks likewise: both stamps are
    # taken under the write lock, so their order is the order of the commits.
    late = [e for e in emails if deliveries[e][0] == "sent" and answers[e][1] < deliveries[e][1]]
    assert late == []
    by_ledger = [
        e for e in emails if deliveries[e][0] == "sent" and suppressed[e] < deliveries[e][1]
    ]
    assert by_ledger == []
    last_attempt = max(at for _, at in deliveries.values())
    during = sum(1 for _, at in answers.values() if at < last_attempt)
    assert during > POSTS // 2, "the POSTs should mostly land while the send runs"
    print(
        f"\n{POSTS} POSTs in {posting:.1f} s during a {RECIPIENTS}-recipient send, {during}"
        f" answered before its last attempt; {report['suppressed']} messages suppressed"
    )
