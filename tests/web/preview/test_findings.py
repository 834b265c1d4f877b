"""The preview's checks of a message, and ``[preview] test_addresses`` in the config."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from digestmail.config import load_config
from digestmail.content.reader import load_posts
from digestmail.errors import ConfigError
from digestmail.web.preview.build import PreviewSettings, build_preview
from digestmail.web.preview.findings import find_problems, site_files
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


SITE_POSTS = {
    "veranstaltungstipp/werkstatt.md": """
        ---
        title: "Werkstatt"
        date: "2017-11-10"
        categories: ["veranstaltungstipp"]
        ---
        Termin im Rathaus: ![Plan](/bilder/fehlt.png) und [das Programm](/gibt-es-nicht/).
        Dazu [der Flyer](/flyer.pdf), [das Fest](/veranstaltungstipp/2017/11/fest/)
        und ![Foto](/bilder/da.png).
        """,
    "veranstaltungstipp/fest/index.md": """
        ---
        title: "Fest"
        date: "2017-11-20"
        categories: ["veranstaltungstipp"]
        ---
        Alle sind eingeladen. ![Bühne](buehne.jpg) ![Zelt](zelt.jpg)
        """,
}


def _site_project(make_project: MakeProject) -> Path:
    cfg = make_project(posts=SITE_POSTS)
    root = cfg.parent.parent
    (root / "static" / "bilder").mkdir(parents=True)
    (root / "static" / "bilder" / "da.png").write_bytes(b"\x89PNG")
    (root / "static" / "flyer.pdf").write_bytes(b"%PDF")
    (root / "content" / "veranstaltungstipp" / "fest" / "buehne.jpg").write_bytes(b"\xff\xd8")
    return cfg


def test_site_files_name_missing_images_and_dead_links(make_project: MakeProject) -> None:
    cfg = _site_project(make_project)
    config = load_config(cfg)
    posts = load_posts(config.site).posts
    site = site_files(config, config.get_list("monthly"), posts)
    fest = next(p for p in posts if p.bundle).permalink
    html = (
        '<img src="https://example.org/bilder/da.png" alt="" width="1">'
        '<img src="https://example.org/bilder/fehlt.png" alt="" width="1">'
        f'<img src="{fest}buehne.jpg" alt="" width="1">'
        f'<img src="{fest}zelt.jpg" alt="" width="1">'
        '<img src="https://cdn.example.net/weg.png" alt="" width="1">'
        f'<a href="{fest}">Fest</a><a href="{fest}#anfahrt">Anfahrt</a>'
        '<a href="https://example.org/">Start</a><a href="https://example.org/flyer.pdf">F</a>'
        '<a href="https://example.org/veranstaltungstipp/">Alle</a>'
        '<a href="https://example.org/tags/fest/">Feste</a>'
        '<a href="https://example.org/gibt-es-nicht/">weg</a>'
        '<a href="https://andere.example.net/gibt-es-nicht/">woanders</a>'
    )
    found = find_problems("Kurz", html, config=config, site=site)
    assert [line.split(": ", 1)[0] for line in found] == [
        "image https://example.org/bilder/fehlt.png",
        f"image {fest}zelt.jpg",
        "link https://example.org/gibt-es-nicht/",
    ]
    assert "its file is not on the site" in found[0] and "static" in found[0]
    assert "link target not found on the site" in found[2]
    assert find_problems("Kurz", html, config=config) == []  # without the site: not checked


def test_preview_shows_a_missing_image_and_a_dead_link(make_project: MakeProject) -> None:
    cfg = _site_project(make_project)
    settings = PreviewSettings(
        config_path=cfg, list_key="monthly", now=datetime.fromisoformat("2017-12-01T08:00")
    )
    preview = build_preview(settings, version=1)
    assert preview.ok, preview.errors
    found = "\n".join(preview.findings)
    assert "fehlt.png: its file is not on the site" in found
    assert "/gibt-es-nicht/: link target not found on the site" in found
    assert "fest/zelt.jpg: its file is not on the site" in found  # the bundle's missing one
    flagged = " ".join(line.split(": ", 1)[0] for line in preview.findings)
    for fine in ("da.png", "flyer.pdf", "buehne.jpg", "/fest/ "):
        assert fine not in flagged + " "
