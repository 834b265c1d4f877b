"""Permalinks and titles under a Hugo site's own settings, checked with ``hugo list all``.

What hugo 0.111 showed: a pattern without a trailing slash (``/:filename``) still makes
``/some_file/`` and ``/x/:slug.html`` makes ``/x/c.html/``; with ``uglyURLs`` every page path
ends in ``.html`` instead (``/post/x.html``, ``/x/c.html.html``; a bundle ``/post/b.html``),
while an explicit ``url`` stays as written; ``removePathAccents`` turns ``Köln`` into ``koln``
and leaves ``ß``; a title keeps the spaces inside its quotes (``:title`` urlizes without them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from digestmail.config import load_config
from tests.config.hugo_sites import Site, assert_hugo_agrees, needs_hugo, post

PATTERNS = """\
baseURL = "https://ex.org/"
title = "T"
[permalinks]
labs = "/:filename"
h = "/x/:slug.html"
t = "/:title/"
"""
POSTS = {
    "content/labs/Some_File.md": post("Lab"),
    "content/h/c.md": post("C"),
    "content/t/a.md": post("  Spaced  Tïtle "),
    "content/post/Köln Straße.md": post("Köln"),
    "content/post/Bündle/index.md": post("Bündle"),
    "content/post/u.md": post("U", "url: /Fixed/U/"),
    "content/top.md": post("Top"),
}
SITES = {
    "patterns": Site(hugo=PATTERNS, posts=POSTS),
    "ugly": Site(hugo="uglyURLs = true\n" + PATTERNS, posts=POSTS),
    "accents": Site(hugo="removePathAccents = true\n" + PATTERNS, posts=POSTS),
}


@pytest.mark.parametrize("name", sorted(SITES))
@needs_hugo[0]
@needs_hugo[1]
def test_hugo_agrees(name: str, tmp_path: Path) -> None:
    assert_hugo_agrees(SITES[name], tmp_path)


def links(name: str, root: Path) -> dict[str, str]:
    return {
        rel: p.permalink.removeprefix("https://ex.org")
        for rel, p in SITES[name].posts_read(root).items()
    }


def test_pattern_without_trailing_slash_gets_one(tmp_path: Path) -> None:
    found = links("patterns", tmp_path)
    assert found["labs/Some_File.md"] == "/some_file/"
    assert found["h/c.md"] == "/x/c.html/"
    assert found["t/a.md"] == "/spaced-t%C3%AFtle/"


def test_ugly_urls(tmp_path: Path) -> None:
    found = links("ugly", tmp_path)
    assert found["labs/Some_File.md"] == "/some_file.html"
    assert found["h/c.md"] == "/x/c.html.html"
    assert found["post/Bündle/index.md"] == "/post/b%C3%BCndle.html"
    assert found["top.md"] == "/top.html"
    assert found["post/u.md"] == "/Fixed/U/"


def test_remove_path_accents(tmp_path: Path) -> None:
    found = links("accents", tmp_path)
    assert found["post/Köln Straße.md"] == "/post/koln-stra%C3%9Fe/"
    assert found["post/Bündle/index.md"] == "/post/bundle/"
    assert found["t/a.md"] == "/spaced-title/"


def test_title_keeps_its_spaces(tmp_path: Path) -> None:
    posts = SITES["patterns"].posts_read(tmp_path)
    spaced = posts["t/a.md"]
    assert spaced.title == "  Spaced  Tïtle "
    assert not spaced.incomplete
    assert not any("title" in w for w in spaced.warnings)


def test_blank_title_is_no_title(tmp_path: Path) -> None:
    site = Site(hugo=PATTERNS, posts={"content/post/b.md": post("   ")})
    blank = site.posts_read(tmp_path)["post/b.md"]
    assert blank.title == "   "
    assert blank.incomplete
    assert any(w.startswith("no title") for w in blank.warnings)


def test_settings_from_hugo_reach_the_site(tmp_path: Path) -> None:
    config = load_config(SITES["ugly"].write(tmp_path))
    rules = config.site.hugo_settings
    assert rules.ugly_urls and not rules.remove_path_accents
    assert rules.root == tmp_path
    assert config.site.permalinks == {"labs": "/:filename", "h": "/x/:slug.html", "t": "/:title/"}
