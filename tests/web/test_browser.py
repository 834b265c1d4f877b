"""Issue 10 acceptance: the two pages with a button, clicked in a real browser.

Debian's headless Chromium through Playwright (``executable_path``: Playwright cannot download
its own browser here) opens the unsubscribe link and the confirmation link as a reader would,
clicks the button, and the page says it is done; the ledger shows the effect. Only the click
changes anything: opening the page alone (what a mail scanner does) does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from digestmail.ledger import Ledger
from digestmail.message.unsubscribe import unsubscribe_token
from tests.helpers.web import SECRET, Served
from tests.web.test_signup import NEW, confirmations, sign_up, subscribed

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
READER = "anna.schmidt@example.org"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin"),
]


@pytest.fixture
def page() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def suppressed(served: Served) -> list[tuple[str, str | None, str]]:
    with Ledger.open(served.config.state.path) as ledger:
        return [(s.email, s.list_key, s.source) for s in ledger.suppressions()]


def test_unsubscribe_page_button_unsubscribes(serve: Served, page: object) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    token = unsubscribe_token(SECRET, "monthly", READER)
    url = f"{serve.base_url}unsubscribe?list=monthly&token={quote(token)}"

    shown = page.goto(url)
    assert shown is not None and shown.status == 200
    assert page.locator("h1").inner_text() == "Abmelden"
    assert suppressed(serve) == [], "opening the page changes nothing"

    with page.expect_navigation():
        page.get_by_role("button", name="Abmelden").click()

    assert page.locator("h1").inner_text() == "Abgemeldet"
    assert "Veranstaltungstipps" in page.content()
    assert suppressed(serve) == [(READER, "monthly", "web")]
    # The page offers the way back: a button that signs the address up again.
    assert page.get_by_role("button").count() == 1


def test_confirm_page_button_subscribes(serve: Served, page: object) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    assert sign_up(serve).status_code == 200
    (link,) = confirmations(serve.project)

    shown = page.goto(link)
    assert shown is not None and shown.status == 200
    assert page.locator("h1").inner_text() == "Anmeldung bestätigen"
    assert subscribed(serve) == [], "opening the link changes nothing"

    with page.expect_navigation():
        page.get_by_role("button", name="Anmeldung bestätigen").click()

    assert page.locator("h1").inner_text() == "Angemeldet"
    assert "Danke! Sie erhalten ab jetzt: Veranstaltungstipps." in page.locator("body").inner_text()
    assert subscribed(serve) == [NEW]
