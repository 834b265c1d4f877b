"""SpamAssassin on the preview page: score and rules of the sample message, local rules only."""

from __future__ import annotations

import shutil

import pytest

from digestmail.web.preview.page import spam_html
from digestmail.web.preview.spam import parse_report
from tests.web.preview.conftest import Running

REPORT = """\
Content analysis details:   (1.2 points, 5.0 required)

 pts rule name              description
---- ---------------------- --------------------------------------------------
-0.0 NO_RELAYS              Informational: message was not relayed via SMTP
 1.2 MPART_ALT_DIFF         BODY: HTML and text parts are different
                            and then some
 0.0 HTML_MESSAGE           BODY: HTML included in message

"""


def test_report_is_read_and_shown() -> None:
    report = parse_report("X-Spam-Status: No\n\n" + REPORT)
    assert (report.score, report.required) == (1.2, 5.0)
    assert [name for _, name, _ in report.rules] == ["NO_RELAYS", "MPART_ALT_DIFF", "HTML_MESSAGE"]
    assert report.rules[1][2] == "BODY: HTML and text parts are different and then some"
    html = spam_html(report)
    assert "score 1.2" in html and "MPART_ALT_DIFF" in html and "+1.2" in html
    assert "not installed" in spam_html(None)
    with pytest.raises(ValueError):
        parse_report("no report here")


@pytest.mark.spam
@pytest.mark.skipif(shutil.which("spamassassin") is None, reason="needs Debian's spamassassin")
def test_page_shows_the_score_and_rules(preview_server: Running) -> None:
    assert 'id="spam"' in preview_server.get()
    section = preview_server.get("/spam?v=1")
    assert 'id="spam-score">score ' in section, section
    assert 'id="spam-rules"' in section and "HTML_MESSAGE" in section


@pytest.mark.spam
@pytest.mark.browser
@pytest.mark.skipif(shutil.which("spamassassin") is None, reason="needs Debian's spamassassin")
def test_page_fills_in_the_score_by_itself(browser: object, preview_server: Running) -> None:
    from tests.web.preview.test_preview_browser import _page

    page = _page(browser, preview_server)
    page.wait_for_selector("#spam-score", timeout=30_000)  # type: ignore[attr-defined]
    assert "score" in page.inner_text("#spam")  # type: ignore[attr-defined]
