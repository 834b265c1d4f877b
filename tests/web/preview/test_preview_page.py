"""The preview over HTTP: what the page shows, test copies, and that the ledger is left alone."""

from __future__ import annotations

import mailbox
import urllib.error
import urllib.parse
import urllib.request

from tests.web.preview.conftest import Running


def _post(running: Running, address: str) -> tuple[int, str]:
    data = urllib.parse.urlencode({"address": address}).encode()
    try:
        with urllib.request.urlopen(running.url + "test-copy", data=data, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_page_shows_subject_tips_rows_headers_and_size(preview_server: Running) -> None:
    page = preview_server.get()
    assert "Veranstaltungstipps" in page  # the subject: list name and period
    assert "Werkstatt Bürgerhaushalt" in page and "Sommerfest der Initiativen" in page
    assert 'id="tip-count">2 tip(s)' in page
    assert "veranstaltungstipp/entwurf.md" in page and "draft" in page  # why it is out
    assert "List-Unsubscribe" in page and "102 KB clip" in page
    email = preview_server.get("/email.html")
    assert "Sommerfest der Initiativen" in email
    assert not (preview_server.root / "state").exists()  # never creates the ledger


def test_test_copy_only_for_allowed_addresses(preview_server: Running) -> None:
    status, body = _post(preview_server, "stranger@example.org")
    assert status == 403 and "refused" in body
    outbox = preview_server.root / "outbox"
    assert not outbox.exists() or not list(mailbox.Maildir(outbox, create=False))
    status, body = _post(preview_server, "Redaktion@example.org")
    assert status == 200, body
    assert "test copy sent to redaktion@example.org" in body
    messages = list(mailbox.Maildir(outbox, create=False))
    assert [m["To"] for m in messages] == ["redaktion@example.org"]
    import sqlite3

    db = sqlite3.connect(preview_server.root / "state" / "digestmail.sqlite")
    issues = {row[0] for row in db.execute("SELECT DISTINCT issue_id FROM deliveries")}
    assert issues == {"monthly-2017-11#test"}  # nothing recorded for the list's issue


def test_version_and_refusal_of_a_foreign_form(preview_server: Running) -> None:
    assert preview_server.get("/version").strip() == "1"
    request = urllib.request.Request(
        preview_server.url + "test-copy",
        data=b"address=redaktion%40example.org",
        headers={"Origin": "https://evil.example"},
    )
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 403
    else:
        raise AssertionError("a form of another site was accepted")
