"""Spam filters like the digest: SpamAssassin's local rules, no Bayes, score at most 0.5.

A text part that is only a "view in browser" stub would cost 2.2 points (MPART_ALT_DIFF), a
preheader coloured like its background 0.7 (HTML_FONT_LOW_CONTRAST); both are real risks of a
theme, so this test scores the message a subscriber actually receives.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from digestmail.message.factory import MessageFactory
from digestmail.models import Recipient
from digestmail.render.theme import render_issue
from tests.helpers.render import make_config, make_post, make_selection, monthly, post_from_fixture

SPAMASSASSIN = shutil.which("spamassassin")

pytestmark = [
    pytest.mark.spam,
    pytest.mark.skipif(SPAMASSASSIN is None, reason="needs Debian's spamassassin"),
]


def score(eml: Path) -> tuple[float, str]:
    assert SPAMASSASSIN
    result = subprocess.run(
        [
            SPAMASSASSIN,
            "-L",
            "-x",
            "-t",
            "--cf=use_bayes 0",
            "--cf=bayes_auto_learn 0",
        ],
        stdin=eml.open("rb"),
        capture_output=True,
        check=True,
        timeout=120,
    )
    report = result.stdout.decode("utf-8", "replace")
    found = re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)", report, re.MULTILINE)
    assert found, report[-2000:]
    return float(found.group(1)), report


def test_built_digest_scores_at_most_half_a_point(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        site={"archive_url": "https://example.org/archiv/"},
        lists={"unsubscribe_url": "https://example.org/abmelden?token={token}"},
    )
    seed = post_from_fixture("kommune.md")
    posts = [
        post_from_fixture("kommune.md", summary=seed.body),
        make_post(
            title="Offene Werkstatt: Bürgerhaushalt verstehen",
            slug="haushalt",
            day=20,
            summary="Wie ein **Bürgerhaushalt** funktioniert, erklären Praktiker*innen aus "
            "drei Kommunen. [Programm](/programm/haushalt/)",
            thumbnail="/images/haushalt.jpg",
        ),
    ]
    issue = render_issue(make_selection(*posts), config=config, list_cfg=monthly(config))
    factory = MessageFactory(issue, config=config, list_cfg=monthly(config), secret="s3cret")
    eml = tmp_path / "message.eml"
    eml.write_bytes(factory.build(Recipient(email="anna@example.org", name="Anna Beispiel")).data)
    points, report = score(eml)
    assert points <= 0.5, report[report.find("Content analysis") :]
