"""The preview's checks of a message, and ``[preview] test_addresses`` in the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from digestmail.config import load_config
from digestmail.errors import ConfigError
from digestmail.web.preview.findings import find_problems
from tests.helpers.project import MakeProject


def test_findings_name_images_links_headings_and_subject(make_project: MakeProject) -> None:
    config = load_config(make_project())
    html = (
        '<h1>A</h1><h3>C</h3><img src="https://example.org/a.webp">'
        '<a href="/relativ/">hier</a><a href="http://example.org/x">x</a>'
        '<a href="https://example.org/y">https://example.org/y</a>'
    )
    found = "\n".join(find_problems("S" * 90, html, config=config))
    for expected in (
        "a.webp: not PNG, JPEG or GIF",
        "a.webp: no alt text",
        "/relativ/: relative",
        "http://example.org/x: http:",
        "its text is a bare URL",
        "h3 follows h1",
        "subject: 90 characters",
    ):
        assert expected in found
    assert (
        find_problems("Kurz", '<h1>A</h1><img src="a.png" alt="" width="10">', config=config) == []
    )


def test_test_addresses_are_bare_and_lower_case(make_project: MakeProject, tmp_path: Path) -> None:
    config = load_config(
        make_project(extra_config='[preview]\ntest_addresses = ["A@Example.org"]\n')
    )
    assert config.preview.test_addresses == ("a@example.org",)
    with pytest.raises(ConfigError, match=r"preview\.test_addresses"):
        load_config(make_project(extra_config='[preview]\ntest_addresses = ["Anna <a@b.org>"]\n'))
