"""Language-suffixed files (``post.de.md``) as Hugo 0.111 reads them, and lists by language.

The rules, each checked with ``hugo list all`` on the sites below (``test_hugo_agrees``):

- the suffix is a language only when it is a configured content language (the default
  language, "en" unless ``defaultContentLanguage`` says otherwise, counts; case matters);
- then the file name for the slug and the permalink drops it;
- a page in another language than the default lives under ``/<lang>/``, the default one too
  with ``defaultContentLanguageInSubdir``; an explicit ``url`` is used as written;
- ``a.md`` and ``a.en.md`` in the default language are one page: Hugo keeps the first by name,
  and in a bundle every ``index.*`` is the page (``index.fr.md`` too when fr is no language).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from digestmail.config import load_config
from digestmail.errors import ConfigError
from digestmail.models import Period, Reason
from digestmail.selection.select import select
from tests.config.hugo_sites import LIST, Site, assert_hugo_agrees, needs_hugo, post

MULTI = """\
baseURL = "https://ex.org/sub/"
title = "Netz"
defaultContentLanguage = "de"
[languages.de]
weight = 1
languageCode = "de-DE"
[languages.en]
weight = 2
title = "Net"
[permalinks]
post = "/:section/:year/:filename/"
"""
MULTI_POSTS = {
    "content/post/a.md": post("A", "categories: [tipp]"),
    "content/post/a.en.md": post("A en", "categories: [tipp]"),
    "content/post/b.de.md": post("B de", "categories: [tipp]"),
    "content/post/c.fr.md": post("C fr", "categories: [tipp]"),
    "content/post/d/index.en.md": post("D en", "categories: [tipp]"),
    "content/post/_index.en.md": '---\ntitle: "Posts"\n---\n',
    "content/post/u.en.md": post("U", "url: /fixed/u/"),
}
SITES = {
    "default-de": Site(
        hugo='baseURL = "https://ex.org/"\ntitle = "T"\ndefaultContentLanguage = "de"\n',
        posts={
            "content/post/2024_10_03_Relaunch_openstreetmap.de.md": post("Relaunch"),
            "content/post/other.en.md": post("En"),  # en is no language of this site
            "content/post/dotted.v2.md": post("Dotted"),
        },
    ),
    "default-en": Site(
        hugo='baseURL = "https://ex.org/"\ntitle = "T"\n',
        posts={
            "content/post/x.en.md": post("X"),
            "content/post/y.EN.md": post("Y"),  # the suffix is case-sensitive
            "content/post/z.de.md": post("Z"),
        },
    ),
    "multi": Site(hugo=MULTI, posts=MULTI_POSTS),
    "multi-subdir": Site(
        hugo=MULTI.replace(
            'title = "Netz"\n', 'title = "Netz"\ndefaultContentLanguageInSubdir = true\n'
        ),
        posts=MULTI_POSTS,
    ),
    "duplicates": Site(
        hugo='baseURL = "https://ex.org/"\ntitle = "T"\n',
        posts={
            "content/r/a.md": post("A"),
            "content/r/a.en.md": post("A en"),
            "content/p/b1/index.fr.md": post("B1"),
            "content/p/b1/other.md": post("resource, not a page"),
            "content/p/b2/index.md": post("B2"),
            "content/p/b2/index.en.md": post("B2 en"),
        },
    ),
}
OCTOBER = Period(
    key="2024-10",
    kind="month",
    start=datetime.fromisoformat("2024-10-01T00:00:00+00:00"),
    end=datetime.fromisoformat("2024-11-01T00:00:00+00:00"),
)


@pytest.mark.parametrize("name", sorted(SITES))
@needs_hugo[0]
@needs_hugo[1]
def test_hugo_agrees(name: str, tmp_path: Path) -> None:
    assert_hugo_agrees(SITES[name], tmp_path)


def test_default_language_suffix_dropped_from_permalink(tmp_path: Path) -> None:
    posts = SITES["default-de"].posts_read(tmp_path)
    relaunch = posts["post/2024_10_03_Relaunch_openstreetmap.de.md"]
    assert relaunch.permalink == "https://ex.org/post/2024_10_03_relaunch_openstreetmap/"
    assert relaunch.language == "de"
    assert posts["post/other.en.md"].permalink == "https://ex.org/post/other.en/"
    assert posts["post/other.en.md"].language == "de"


def test_en_is_the_default_language_without_config(tmp_path: Path) -> None:
    posts = SITES["default-en"].posts_read(tmp_path)
    assert posts["post/x.en.md"].permalink == "https://ex.org/post/x/"
    assert posts["post/y.EN.md"].permalink == "https://ex.org/post/y.en/"
    assert posts["post/z.de.md"].permalink == "https://ex.org/post/z.de/"


def test_other_languages_live_under_their_folder(tmp_path: Path) -> None:
    posts = SITES["multi"].posts_read(tmp_path)
    assert {rel: (p.language, p.permalink) for rel, p in posts.items()} == {
        "post/a.md": ("de", "https://ex.org/sub/post/2024/a/"),
        "post/a.en.md": ("en", "https://ex.org/sub/en/post/2024/a/"),
        "post/b.de.md": ("de", "https://ex.org/sub/post/2024/b/"),
        "post/c.fr.md": ("de", "https://ex.org/sub/post/2024/c.fr/"),
        "post/d/index.en.md": ("en", "https://ex.org/sub/en/post/2024/d/"),
        "post/u.en.md": ("en", "https://ex.org/sub/fixed/u/"),
    }


def test_default_language_in_subdir(tmp_path: Path) -> None:
    posts = SITES["multi-subdir"].posts_read(tmp_path)
    assert posts["post/a.md"].permalink == "https://ex.org/sub/de/post/2024/a/"
    assert posts["post/a.en.md"].permalink == "https://ex.org/sub/en/post/2024/a/"


def test_one_page_per_language_first_file_by_name_wins(tmp_path: Path) -> None:
    posts = SITES["duplicates"].posts_read(tmp_path)
    assert sorted(posts) == ["p/b1/index.fr.md", "p/b2/index.en.md", "r/a.en.md"]
    assert posts["p/b1/index.fr.md"].permalink == "https://ex.org/p/b1/"


def test_site_language_and_list_language(tmp_path: Path) -> None:
    site = Site(hugo=MULTI, posts=MULTI_POSTS, digestmail=LIST)
    config = load_config(site.write(tmp_path))
    assert config.site.language == "de-DE"
    assert config.site.title == "Netz"
    assert config.get_list("monthly").language == "de"
    assert config.site.hugo_settings.languages == ("de", "en")


def test_a_list_gets_only_its_languages_posts(tmp_path: Path) -> None:
    site = Site(hugo=MULTI, posts=MULTI_POSTS, digestmail=LIST + 'language = "en"\n')
    config = load_config(site.write(tmp_path))
    posts = site.posts_read(tmp_path)
    now = datetime.fromisoformat("2024-11-01T00:00:00+00:00")
    chosen = select(posts.values(), list_cfg=config.get_list("monthly"), period=OCTOBER, cutoff=now)
    assert sorted(p.rel_path for p in chosen.posts) == ["post/a.en.md", "post/d/index.en.md"]
    reasons = {e.post.rel_path: e.reason for e in chosen.excluded}
    assert reasons["post/a.md"] is Reason.LANGUAGE
    assert reasons["post/c.fr.md"] is Reason.LANGUAGE
    assert reasons["post/u.en.md"] is Reason.CATEGORY


def test_unknown_list_language_names_the_key(tmp_path: Path) -> None:
    site = Site(hugo=MULTI, posts=MULTI_POSTS, digestmail=LIST + 'language = "fr"\n')
    with pytest.raises(ConfigError, match=r"lists\.monthly\.language.*'fr'.*de, en"):
        load_config(site.write(tmp_path))


def test_default_language_must_be_configured(tmp_path: Path) -> None:
    hugo = MULTI.replace('defaultContentLanguage = "de"', 'defaultContentLanguage = "nl"')
    with pytest.raises(ConfigError, match=r"hugo\.toml: defaultContentLanguage: 'nl' is not"):
        load_config(Site(hugo=hugo, posts=MULTI_POSTS).write(tmp_path))
