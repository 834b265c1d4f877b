"""The built HTML in a real browser: readable on a phone without sideways scrolling.

Drives Debian's headless Chromium through Playwright (which cannot download its own browser
here). Screenshots land in the test's tmp dir for a human to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from digestmail.message.factory import MessageFactory
from digestmail.models import Recipient
from digestmail.render.theme import render_issue
from tests.helpers.render import make_config, make_post, make_selection, monthly, post_from_fixture

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin"),
]

# A 1x1 PNG stands in for remote images, which the browser may not fetch here.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e2213f1d0000000049454e44ae426082"
)
WIDE_IMAGE_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="1600" height="600">'
    b'<rect width="1600" height="600" fill="#8ab"/></svg>'
)


@pytest.fixture
def built_html(tmp_path: Path) -> Path:
    """The html part a recipient gets, with long words, a wide image and a thumbnail."""
    config = make_config(tmp_path, site={"archive_url": "https://example.org/archiv/"})
    (tmp_path / "static" / "images").mkdir(parents=True)  # the Hugo site's file: an SVG,
    (tmp_path / "static" / "images" / "wide.svg").write_bytes(WIDE_IMAGE_SVG)  # sent as JPEG
    long_url = "https://example.org/" + "sehr-langer-pfad-" * 8
    posts = [
        post_from_fixture("kommune.md", summary=post_from_fixture("kommune.md").body),
        make_post(
            title="Donaudampfschifffahrtsgesellschaftskapitänsmützenwerkstatt",
            slug="lang",
            summary=f"Ein Bild:\n\n![Panorama](/images/wide.svg)\n\nUnd ein Link: <{long_url}>",
            thumbnail="/images/wide.svg",
        ),
    ]
    issue = render_issue(make_selection(*posts), config=config, list_cfg=monthly(config))
    factory = MessageFactory(issue, config=config, list_cfg=monthly(config), secret="x")
    message = factory.build(Recipient(email="anna@example.org", name="Anna"))
    from email import message_from_bytes, policy

    msg = message_from_bytes(message.data, policy=policy.default)
    html = next(p for p in msg.walk() if p.get_content_type() == "text/html").get_content()
    page = tmp_path / "digest.html"
    page.write_text(html, encoding="utf-8")
    return page


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def open_page(browser: object, html: Path, width: int) -> object:
    from playwright.sync_api import Browser, Route

    assert isinstance(browser, Browser)
    page = browser.new_page(viewport={"width": width, "height": 900})

    def serve(route: Route) -> None:
        url = route.request.url
        if url.endswith(".svg"):
            route.fulfill(body=WIDE_IMAGE_SVG, content_type="image/svg+xml")
        elif url.startswith("file:"):
            route.continue_()
        else:
            route.fulfill(body=PIXEL, content_type="image/png")

    page.route("**/*", serve)
    page.goto(html.as_uri())
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("width", [375, 1024])
def test_digest_fits_the_screen(browser: object, built_html: Path, width: int) -> None:
    from playwright.sync_api import Page

    page = open_page(browser, built_html, width)
    assert isinstance(page, Page)
    shot = built_html.parent / f"digest-{width}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 0

    overflow = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert overflow, f"horizontal scrolling at {width}px"
    images = page.evaluate(
        """() => Array.from(document.images).map(img => {
            const r = img.getBoundingClientRect();
            return {src: img.src, left: r.left, right: r.right, width: r.width};
        })"""
    )
    assert len(images) >= 2
    for img in images:
        assert img["left"] >= 0, img
        assert img["right"] <= width, img
    column = page.evaluate("document.querySelector('.container').getBoundingClientRect().width")
    assert column <= 600
    if width == 375:
        assert column >= 340  # the column uses the phone's width, not a shrunken desktop layout
    assert page.evaluate("document.querySelectorAll('h1').length") == 1
