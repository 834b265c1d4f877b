"""The preview in Chromium: the phone toggle, the reload after a save, errors with file and line.

Also saves the screenshot the README shows (``docs/preview.png``) when it is missing or when
``DIGESTMAIL_SCREENSHOT=1`` asks for a new one.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tests.helpers.paths import REPO
from tests.web.preview.conftest import Running, wait_for

pytestmark = pytest.mark.browser

POST = "content/veranstaltungstipp/werkstatt.md"


def _page(browser: object, running: Running, width: int = 1280) -> object:
    from playwright.sync_api import Browser, Route

    assert isinstance(browser, Browser)
    page = browser.new_page(viewport={"width": width, "height": 900})

    def local_only(route: Route) -> None:  # the email's remote images: not fetched here
        if route.request.url.startswith(running.url):
            route.continue_()
        else:
            route.fulfill(status=404, body="")

    page.route("**/*", local_only)
    page.goto(running.url)
    return page


def test_phone_toggle_renders_375_wide_without_sideways_scroll(
    browser: object, preview_server: Running
) -> None:
    page = _page(browser, preview_server)
    page.click("[data-device=phone]")  # type: ignore[attr-defined]
    frame = page.frame_locator("#frame")  # type: ignore[attr-defined]
    frame.locator("body").wait_for()
    wait_for(lambda: page.eval_on_selector("#frame", "f => f.clientWidth") == 375)  # type: ignore[attr-defined]
    inner = page.frames[1]  # type: ignore[attr-defined]
    widths = inner.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[1] == 375 and widths[0] <= widths[1], widths
    assert "Sommerfest der Initiativen" in inner.content()
    page.click("[data-dark]")  # type: ignore[attr-defined]
    wait_for(lambda: "dark=1" in (page.get_attribute("#frame", "src") or ""))  # type: ignore[attr-defined]


def test_a_saved_title_shows_without_a_manual_reload(
    browser: object, preview_server: Running
) -> None:
    page = _page(browser, preview_server)
    assert "Werkstatt Bürgerhaushalt" in page.inner_text("#tips")  # type: ignore[attr-defined]
    source = preview_server.root / POST
    source.write_text(
        source.read_text(encoding="utf-8").replace("Werkstatt Bürgerhaushalt", "Neue Werkstatt"),
        encoding="utf-8",
    )
    page.wait_for_function(  # type: ignore[attr-defined]
        "() => document.querySelector('#tips')?.innerText.includes('Neue Werkstatt')",
        timeout=3000,
    )


def test_broken_front_matter_shows_file_and_line_then_recovers(
    browser: object, preview_server: Running
) -> None:
    page = _page(browser, preview_server)
    source = preview_server.root / POST
    good = source.read_text(encoding="utf-8")
    source.write_text(good.replace('date: "2017-11-10"', 'date: "2017-11-10\n  : ['), "utf-8")
    page.wait_for_selector("#errors", timeout=3000)  # type: ignore[attr-defined]
    text = page.inner_text("#errors")  # type: ignore[attr-defined]
    assert "werkstatt.md:" in text, text
    source.write_text(good, encoding="utf-8")
    page.wait_for_selector("#tips", timeout=3000)  # type: ignore[attr-defined]
    assert "Werkstatt Bürgerhaushalt" in page.inner_text("#tips")  # type: ignore[attr-defined]
    assert preview_server.process.poll() is None  # the server kept running
    assert not (preview_server.root / "state").exists()


def test_screenshot_for_the_readme(browser: object, preview_server: Running) -> None:
    from PIL import Image

    target = REPO / "docs" / "preview.png"
    page = _page(browser, preview_server, width=1024)
    page.set_viewport_size({"width": 1024, "height": 768})  # type: ignore[attr-defined]
    page.click("[data-device=phone]")  # type: ignore[attr-defined]
    page.frame_locator("#frame").locator("body").wait_for()  # type: ignore[attr-defined]
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    png = page.screenshot()  # type: ignore[attr-defined]
    image = Image.open(io.BytesIO(png))
    assert image.size == (1024, 768)
    if target.exists() and os.environ.get("DIGESTMAIL_SCREENSHOT") != "1":
        return
    small = image.convert("RGB").quantize(colors=64)
    small.save(Path(target), format="PNG", optimize=True)
