"""Permalinks and URL-ization, with the values ``hugo list all`` (0.111) printed for them."""

from __future__ import annotations

import random
from pathlib import Path
from urllib.parse import quote

import pytest

from digestmail.content.permalinks import _SAFE as SAFE
from digestmail.content.permalinks import _sanitize_slow, sanitize, urlize
from tests.helpers.content import post_from

PATTERN = {"veranstaltungstipp": "/:section/:year/:month/:slug/", "news": "/:section/:title/"}


@pytest.mark.parametrize(
    ("text", "hugo"),
    [
        ("Bürger*innen treffen sich", "b%C3%BCrgerinnen-treffen-sich"),
        ("Köln & Bonn: Ein Tag!", "k%C3%B6ln-bonn-ein-tag"),
        ("  Viele   Leerzeichen  ", "viele-leerzeichen"),
        ("Straße/Weg", "stra%C3%9Fe/weg"),
        ("Fragen? (Antworten) [x] {y} 'q' \"z\"", "fragen-antworten-x-y-q-z"),
        ("Éçà ÑØ ß", "%C3%A9%C3%A7%C3%A0-%C3%B1%C3%B8-%C3%9F"),
        ("Großes ẞ und İ", "gro%C3%9Fes-%C3%9F-und-i"),
        ("a--b  - c", "a--b-c"),
        ("emoji 🎉 test", "emoji-test"),
        ("Zeit: 18:30 Uhr", "zeit-1830-uhr"),
        ("münchen@home.de", "m%C3%BCnchen@home.de"),
        ("e + f", "e-+-f"),
        ("c++", "c++"),
        ("Tab\tTab", "tab-tab"),
        ("UPPER Case", "upper-case"),
        ("A&B", "ab"),
        ("Köln*Bonn", "k%C3%B6lnbonn"),
    ],
)
def test_urlize_matches_hugo(text: str, hugo: str) -> None:
    assert urlize(text) == hugo


def test_pattern_with_slug_falls_back_to_the_title(tmp_path: Path) -> None:
    post = post_from(
        tmp_path,
        '---\ntitle: "Große Bürger Versammlung"\ndate: "2017-11-10"\n---\n',
        rel="veranstaltungstipp/one.md",
        permalinks=PATTERN,
    )
    assert post.permalink == (
        "https://example.org/veranstaltungstipp/2017/11/gro%C3%9Fe-b%C3%BCrger-versammlung/"
    )


def test_pattern_uses_an_explicit_slug(tmp_path: Path) -> None:
    post = post_from(
        tmp_path,
        '---\ntitle: "Zwei"\nslug: "mein-Slug Ä"\ndate: "2017-11-30T23:30:00"\n---\n',
        rel="veranstaltungstipp/two.md",
        permalinks=PATTERN,
    )
    assert post.slug == "mein-Slug Ä"
    assert post.permalink == "https://example.org/veranstaltungstipp/2017/11/mein-slug-%C3%A4/"


@pytest.mark.parametrize(
    ("title", "hugo"),
    [
        ("Jung + Alt: Generationen im Dialog", "jung--alt-generationen-im-dialog"),
        ("C++ Kurs", "c-kurs"),
        ("Klima+Stadt", "klima-stadt"),
        ("+Anfang", "-anfang"),
        ("a+ +b", "a-b"),
        ("C#+", "c#-"),
        ("a%2Bb", "a+b"),
        ("Grün+Blau", "gr%C3%BCn-blau"),
    ],
)
def test_pattern_turns_plus_into_a_hyphen_as_hugo_does(
    tmp_path: Path, title: str, hugo: str
) -> None:
    # Hugo query-unescapes the expanded pattern ('+' -> ' ') and sanitizes it once more.
    post = post_from(
        tmp_path,
        f'---\ntitle: "{title}"\ndate: "2017-11-10"\n---\n',
        rel="blog/p.md",
        permalinks={"blog": "/Blog/:year/:slug/"},
    )
    assert post.permalink == f"https://example.org/blog/2017/{hugo}/"


def test_default_permalink_keeps_a_plus_in_the_slug(tmp_path: Path) -> None:
    post = post_from(tmp_path, '---\ntitle: "T"\nslug: "Klima+Stadt"\n---\n', rel="n/p.md")
    assert post.permalink == "https://example.org/n/klima+stadt/"


def test_pattern_with_a_bad_percent_escape_is_dropped_as_hugo_does(tmp_path: Path) -> None:
    # hugo list all: "/:section/x%zz/:slug/" gives content/p/a.md the default /p/a/.
    post = post_from(
        tmp_path,
        '---\ntitle: "Hallo Welt"\ndate: 2020-01-01\n---\n',
        rel="p/a.md",
        permalinks={"p": "/:section/x%zz/:slug/"},
    )
    assert post.permalink == "https://example.org/p/a/"


def test_slugorfilename_is_its_own_token_not_slug_plus_text(tmp_path: Path) -> None:
    # hugo list all: "/:section/:slugorfilename/" gives content/q/b.md /q/b/, not the title.
    post = post_from(
        tmp_path,
        '---\ntitle: "Hallo Welt"\ndate: 2020-01-01\n---\n',
        rel="q/b.md",
        permalinks={"q": "/:sections/:slugorfilename/"},
    )
    assert post.permalink == "https://example.org/q/b/"


def test_pattern_date_parts_use_the_dates_own_offset(tmp_path: Path) -> None:
    # 23:30 UTC on the 30th is already December in Berlin; Hugo still writes 2017/11/30.
    post = post_from(
        tmp_path,
        '---\ntitle: "Spät"\ndate: 2017-11-30T23:30:00Z\n---\n',
        rel="d/late.md",
        permalinks={"d": "/:section/:year/:month/:day/:filename/"},
    )
    assert post.permalink == "https://example.org/d/2017/11/30/late/"


def test_default_permalink_is_directory_and_file_name_not_title(tmp_path: Path) -> None:
    post = post_from(
        tmp_path, '---\ntitle: "Ein Titel"\ndate: 2017-11-10\n---\n', rel="posts/Mein Beitrag.md"
    )
    assert post.permalink == "https://example.org/posts/mein-beitrag/"


def test_default_permalink_prefers_slug_and_keeps_nested_directories(tmp_path: Path) -> None:
    post = post_from(
        tmp_path,
        '---\ntitle: "T"\nslug: "Kurz Name"\ndate: 2017-11-10\n---\n',
        rel="a/b/datei.md",
    )
    assert post.section == "a"
    assert post.permalink == "https://example.org/a/b/kurz-name/"


def test_bundle_uses_its_directory_name(tmp_path: Path) -> None:
    post = post_from(
        tmp_path, '---\ntitle: "B"\ndate: 2017-11-10\n---\n', rel="f/Bündel Dir/index.md"
    )
    assert post.bundle
    assert post.permalink == "https://example.org/f/b%C3%BCndel-dir/"


def test_bundle_with_slug_pattern_takes_the_title(tmp_path: Path) -> None:
    post = post_from(
        tmp_path,
        '---\ntitle: "Bundle Titel"\ndate: "2017-11-11"\n---\n',
        rel="veranstaltungstipp/bundle/index.md",
        permalinks=PATTERN,
    )
    assert post.permalink == "https://example.org/veranstaltungstipp/2017/11/bundle-titel/"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/custom/path/", "https://example.org/sub/custom/path/"),
        ("custom/rel", "https://example.org/sub/custom/rel/"),
        ("/Bürger Treff/", "https://example.org/sub/B%C3%BCrger%20Treff/"),
        ("/feed.xml", "https://example.org/sub/feed.xml"),
    ],
)
def test_explicit_url_is_kept_as_written_under_the_base_url(
    tmp_path: Path, url: str, expected: str
) -> None:
    post = post_from(
        tmp_path,
        f'---\ntitle: "U"\nurl: "{url}"\ndate: 2017-11-10\n---\n',
        rel="news/u.md",
        permalinks=PATTERN,
        base_url="https://example.org/sub/",
    )
    assert post.permalink == expected


def test_undated_post_in_a_date_pattern_gets_hugos_zero_date(tmp_path: Path) -> None:
    post = post_from(
        tmp_path,
        '---\ntitle: "Ohne"\n---\n',
        rel="d/nodate.md",
        permalinks={"d": "/:section/:year/:month/:day/:filename/"},
    )
    assert post.permalink == "https://example.org/d/1/01/01/nodate/"


def test_fast_latin1_sanitizer_matches_hugos_rune_loop() -> None:
    """The word-wise fast path must give exactly what Hugo's rune-by-rune loop gives."""
    rng = random.Random(111)
    alphabet = "aZ09 _-.,:;!?&*/\\#+~@%()[]\"'\täöüÄÖÜßéñ²½×÷\u00a0"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 24)))
        assert sanitize(text) == _sanitize_slow(text), repr(text)


def test_urlize_of_a_plain_name_is_the_full_rule() -> None:
    """The shortcut for names of letters, digits and ``_ . / ~ -`` (lower-casing only) must
    give what the sanitizer and percent-encoding give, and never catch a name it would not."""
    rng = random.Random(112)
    alphabet = "aZ09_./~-\\#+@ %İß"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 12)))
        assert urlize(text) == quote(_sanitize_slow(text).replace("İ", "i").lower(), safe=SAFE), (
            repr(text)
        )


def test_top_level_bundle_is_in_the_root_section_not_its_own(tmp_path: Path) -> None:
    # hugo list all: content/about/index.md -> /about/, whatever [permalinks] says for "about".
    post = post_from(
        tmp_path,
        '---\ntitle: "Über uns"\ndate: 2017-11-10\n---\n',
        rel="about/index.md",
        permalinks={"about": "/x/:title/"},
    )
    assert post.section == ""
    assert post.permalink == "https://example.org/about/"
