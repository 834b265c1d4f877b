"""The site's ``[frontmatter]`` date chains, as Hugo 0.111 applies them.

What ``hugo list all`` showed: ``date = [":filename", ":default"]`` dates ``2021-05-02-name.md``
from its name and gives it the slug ``name`` (trimmed of `` -_``, case kept) unless the front
matter has a ``slug`` key (an empty one too); a language suffix is no part of that slug; a bad
date in the name (``2021-13-06``) falls through to the next handler; the other chains name
front-matter keys, so ``publishDate`` does not follow a date taken from the file name.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from digestmail.config import load_config
from digestmail.config.hugo_settings import expand_chain
from digestmail.errors import ConfigError
from tests.config.hugo_sites import Site, assert_hugo_agrees, needs_hugo, post, read

FILENAME = """\
baseURL = "https://ex.org/"
title = "T"
timeZone = "Europe/Berlin"
[frontmatter]
date = [":filename", ":default"]
"""
CUSTOM = """\
baseURL = "https://ex.org/"
title = "T"
[frontMatter]
Date = ["eventDate", ":default"]
publishDate = ["announced", "publishDate"]
expiryDate = ["ends"]
lastmod = [":fileModTime"]
"""
SITES = {
    "filename": Site(
        hugo=FILENAME,
        posts={
            "content/post/2021-05-02-name.md": post("FN", date=""),
            "content/post/2021-05-02_Other Name.md": post("FN2", 'slug: ""', date="2020-01-01"),
            "content/post/2021-05-06 -_Third.md": post("FN3", date=""),
            "content/post/2021-05-03-bundle/index.md": post("FNB", date=""),
            "content/post/2021-05-04-x.en.md": post("FNlang", date=""),
            "content/post/2021-13-06-bad.md": post("FN4", date="2022-01-01"),
            "content/post/2021-05-07-kept.md": post("FN5", "slug: own", date=""),
        },
    ),
    "custom": Site(
        hugo=CUSTOM,
        posts={
            "content/post/a.md": post("A", "eventDate: 2024-12-24", "announced: 2024-10-01"),
            "content/post/b.md": post("B", "publishDate: 2024-09-01", "ends: 2025-01-01"),
            "content/post/c.md": post("C", "pubdate: 2024-08-01"),
        },
    ),
}


@pytest.mark.parametrize("name", sorted(SITES))
@needs_hugo[0]
@needs_hugo[1]
def test_hugo_agrees(name: str, tmp_path: Path) -> None:
    assert_hugo_agrees(SITES[name], tmp_path)


def test_filename_gives_date_and_slug(tmp_path: Path) -> None:
    posts = SITES["filename"].posts_read(tmp_path)
    name = posts["post/2021-05-02-name.md"]
    assert name.date == datetime.fromisoformat("2021-05-02T00:00:00+02:00")
    assert (name.slug, name.publish_date) == ("name", None)
    assert name.permalink == "https://ex.org/post/name/"
    assert posts["post/2021-05-06 -_Third.md"].slug == "Third"
    assert posts["post/2021-05-03-bundle/index.md"].permalink == "https://ex.org/post/bundle/"
    assert posts["post/2021-05-04-x.en.md"].slug == "x"
    assert posts["post/2021-05-07-kept.md"].slug == "own"
    other = posts["post/2021-05-02_Other Name.md"]
    assert other.slug == ""
    assert other.date is not None and other.date.year == 2021
    assert other.publish_date is not None and other.publish_date.year == 2020
    bad = posts["post/2021-13-06-bad.md"]
    assert bad.date is not None and bad.date.year == 2022
    assert bad.slug == ""


def test_custom_keys_and_default(tmp_path: Path) -> None:
    posts = SITES["custom"].posts_read(tmp_path)
    a, b, c = posts["post/a.md"], posts["post/b.md"], posts["post/c.md"]
    assert a.date is not None and a.date.month == 12  # eventDate before the default chain
    assert a.publish_date is not None and a.publish_date.month == 10
    assert b.date is not None and b.date.month == 10  # :default: date is set
    assert b.expiry_date is not None and b.expiry_date.year == 2025
    assert c.publish_date is not None and c.publish_date.month == 8  # alias of publishDate


def test_file_mod_time(tmp_path: Path) -> None:
    site = SITES["custom"]
    config_path = site.write(tmp_path)
    stamp = datetime.fromisoformat("2023-03-04T05:06:07+00:00").timestamp()
    os.utime(tmp_path / "content" / "post" / "a.md", (stamp, stamp))
    config, posts = read(config_path)
    assert posts["post/a.md"].lastmod == datetime.fromisoformat("2023-03-04T05:06:07+00:00")
    assert config.site.hugo_settings.date_chains["lastmod"] == (":filemodtime",)


def test_chains_expand_default_and_aliases() -> None:
    assert expand_chain(("date", ":default"), ("date", "publishdate", "lastmod")) == (
        "date",
        "publishdate",
        "pubdate",
        "published",
        "lastmod",
        "modified",
    )


def test_git_is_a_warning_naming_the_key(tmp_path: Path) -> None:
    hugo = (
        'baseURL = "https://ex.org/"\ntitle = "T"\n[frontmatter]\nlastmod = [":git", "lastmod"]\n'
    )
    config = load_config(Site(hugo=hugo, posts={}).write(tmp_path))
    (warning,) = config.site.hugo_settings.warnings
    assert warning.startswith("hugo.toml: frontmatter.lastmod: ':git' is unsupported")


def test_git_with_git_info_on_is_an_error_for_dates(tmp_path: Path) -> None:
    hugo = (
        'baseURL = "https://ex.org/"\ntitle = "T"\nenableGitInfo = true\n'
        '[frontmatter]\ndate = [":git", "date"]\n'
    )
    with pytest.raises(ConfigError, match=r"hugo\.toml: frontmatter\.date: ':git' is unsupported"):
        load_config(Site(hugo=hugo, posts={}).write(tmp_path))
