"""Reading posts: front-matter formats, dates, taxonomies, the seed post's shape, faults."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from digestmail.content.reader import load_posts, read_post
from digestmail.errors import ContentError
from tests.helpers.content import BERLIN, FIXTURES, post_from, site_config, write

FIVE = timezone(timedelta(hours=5))
YAML_POST = """
---
title: "Ein Tipp"
date: {date}
categories: "veranstaltungstipp"
---
Text.
"""


def test_yaml_toml_and_json_front_matter_give_the_same_post(tmp_path: Path) -> None:
    yaml_post = post_from(
        tmp_path,
        """
        ---
        title: "Tipp"
        date: "2017-11-10T09:00:00"
        categories: ["veranstaltungstipp"]
        ---
        Body.
        """,
        rel="a/yaml.md",
    )
    toml_post = post_from(
        tmp_path,
        """
        +++
        title = "Tipp"
        date = 2017-11-10T09:00:00
        categories = ["veranstaltungstipp"]
        +++
        Body.
        """,
        rel="a/toml.md",
    )
    json_post = post_from(
        tmp_path,
        """
        {
          "title": "Tipp",
          "date": "2017-11-10T09:00:00",
          "categories": ["veranstaltungstipp"]
        }
        Body.
        """,
        rel="a/json.md",
    )
    for post in (yaml_post, toml_post, json_post):
        assert post.title == "Tipp"
        assert post.date == datetime(2017, 11, 10, 9, tzinfo=BERLIN)
        assert post.categories == ("veranstaltungstipp",)
        assert post.body.strip() == "Body."
        assert not post.warnings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"2017-11-10"', datetime(2017, 11, 10, tzinfo=BERLIN)),
        ('"2017-11-10T09:00:00"', datetime(2017, 11, 10, 9, tzinfo=BERLIN)),
        ('"2017-11-10 09:00:00"', datetime(2017, 11, 10, 9, tzinfo=BERLIN)),
        (
            '"2017-11-10T09:00:00+05:00"',
            datetime(2017, 11, 10, 9, tzinfo=timezone(timedelta(hours=5))),
        ),
        ('"2017-11-10T09:00:00Z"', datetime(2017, 11, 10, 9, tzinfo=UTC)),
        ("2017-11-10", datetime(2017, 11, 10, tzinfo=BERLIN)),
        ("2017-11-10T09:00:00", datetime(2017, 11, 10, 9, tzinfo=BERLIN)),
        (
            "2017-11-10 09:00:00 +01:00",
            datetime(2017, 11, 10, 9, tzinfo=timezone(timedelta(hours=1))),
        ),
        (
            "2017-11-10T09:00:00-03:00",
            datetime(2017, 11, 10, 9, tzinfo=timezone(timedelta(hours=-3))),
        ),
        ('"10 Nov 2017"', datetime(2017, 11, 10, tzinfo=BERLIN)),
        ('"2017-07-10"', datetime(2017, 7, 10, tzinfo=BERLIN)),  # summer time: +02:00
    ],
)
def test_yaml_date_forms_are_read_like_hugo(tmp_path: Path, value: str, expected: datetime) -> None:
    post = post_from(tmp_path, YAML_POST.format(date=value))
    assert post.date == expected
    assert post.date is not None and post.date.utcoffset() == expected.utcoffset()


def test_date_without_offset_follows_summer_and_winter_time(tmp_path: Path) -> None:
    summer = post_from(tmp_path, YAML_POST.format(date='"2017-07-10"'), rel="s.md")
    winter = post_from(tmp_path, YAML_POST.format(date='"2017-12-10"'), rel="w.md")
    assert summer.date is not None and winter.date is not None
    assert summer.date.isoformat() == "2017-07-10T00:00:00+02:00"
    assert winter.date.isoformat() == "2017-12-10T00:00:00+01:00"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("date = 2017-11-10", datetime(2017, 11, 10, tzinfo=BERLIN)),
        ("date = 2017-11-10T09:00:00", datetime(2017, 11, 10, 9, tzinfo=BERLIN)),
        ("date = 2017-11-10T09:00:00Z", datetime(2017, 11, 10, 9, tzinfo=UTC)),
        ('date = "2017-11-10"', datetime(2017, 11, 10, tzinfo=BERLIN)),
    ],
)
def test_toml_date_forms(tmp_path: Path, line: str, expected: datetime) -> None:
    post = post_from(tmp_path, f'+++\ntitle = "T"\n{line}\n+++\nText\n')
    assert post.date == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # What hugo list all (0.111) prints for these, site time zone Europe/Berlin.
        ('"2017-11-10  09:00:00"', datetime(2017, 11, 10, 9, tzinfo=BERLIN)),
        ('"10 nov 2017"', datetime(2017, 11, 10, tzinfo=BERLIN)),
        ('"Fri, 10 Nov 2017 09:00:00 +0500"', datetime(2017, 11, 10, 9, tzinfo=FIVE)),
        ('"Fri, 10 Nov 2017 09:00:00 UTC"', datetime(2017, 11, 10, 9, tzinfo=BERLIN)),
        ('"Fri, 10 Nov 2017 09:00:00 GMT+3"', datetime(2017, 11, 10, 12, tzinfo=BERLIN)),
        ('"10 Nov 68 09:00 +0500"', datetime(2068, 11, 10, 9, tzinfo=FIVE)),
        ('"10 Nov 70 09:00 CET"', datetime(1970, 11, 10, 9, tzinfo=BERLIN)),
        ('"Friday, 10-Nov-17 09:00:00 CET"', datetime(2017, 11, 10, 9, tzinfo=BERLIN)),
        ('"Fri Nov 10 09:00:00 2017"', datetime(2017, 11, 10, 9, tzinfo=BERLIN)),
        ('"Mon Nov  6 09:00:00 CET 2017"', datetime(2017, 11, 6, 9, tzinfo=BERLIN)),
        ('"Fri Nov 10 09:00:00 +0500 2017"', datetime(2017, 11, 10, 9, tzinfo=FIVE)),
        ('"2017-11-10 09:00:00.5 +0500 CET"', datetime(2017, 11, 10, 9, 0, 0, 500000, FIVE)),
        ('"2017-11-10 09:00:00 +0500 UTC"', datetime(2017, 11, 10, 9, tzinfo=UTC)),
        ('"2017-11-10 09:00:00+0500"', datetime(2017, 11, 10, 9, tzinfo=FIVE)),
        ('"2017-11-10T09:00:00,25"', datetime(2017, 11, 10, 9, 0, 0, 250000, BERLIN)),
        ('"2017-11-10T9:00:00"', datetime(2017, 11, 10, 9, tzinfo=BERLIN)),
    ],
)
def test_every_layout_hugo_knows_is_read(tmp_path: Path, value: str, expected: datetime) -> None:
    post = post_from(tmp_path, YAML_POST.format(date=value))
    assert post.date == expected
    assert post.date is not None and post.date.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize(
    "value",
    [
        '"2017-11-10 09:00"',
        '"2017/11/10"',
        '"morgen"',
        # Hugo 0.111 gives these no date (found by an audit against hugo list all):
        '"2026-10-03T10:00:00 +02:00"',
        "2026-10-03T10:00:00 +02:00",
        '"2026-10-03T10:00:00 +0200"',
        '" 2026-10-03 "',
        '"2026-10-03 "',
        '"2026-10-03 10:00:00 CEST"',
        '"2026-10-03T10:00:00 CEST"',
        '"2026-10-03 10:00:00 Z"',
        '"Sat, 3 Oct 2026 10:00:00 +0200"',
        '"03 Oct 2026 10:00 +0200"',
        '"03 Oct 26 10:00 Z"',
        '"Sat, 03 Oct 2026 10:00:00 cest"',
        '"Sat, 03 Oct 2026 10:00:00 GMT+24"',
        '"2026-10-03t10:00:00Z"',
    ],
)
def test_a_date_hugo_ignores_is_a_warning_and_the_post_is_incomplete(
    tmp_path: Path, value: str
) -> None:
    post = post_from(tmp_path, YAML_POST.format(date=value))
    assert post.date is None
    assert post.incomplete
    assert any("date:" in w and "Hugo" in w for w in post.warnings)


def test_a_bare_time_is_no_date(tmp_path: Path) -> None:
    # Go reads "10:00AM" as 10:00 on 1 January of year 0, which Python cannot hold.
    post = post_from(tmp_path, YAML_POST.format(date='"10:00AM"'))
    assert post.date is None
    assert any("year 0" in w for w in post.warnings)


def test_spaces_around_a_date_are_named_in_the_warning(tmp_path: Path) -> None:
    post = post_from(tmp_path, YAML_POST.format(date='" 2026-10-03 "'))
    assert any("spaces around" in w for w in post.warnings)


@pytest.mark.parametrize(
    ("front", "date", "publish"),
    [
        ('date: "2026-10-03 10:00:00 CEST"\npublishDate: "2026-10-04"', "2026-10-04", "2026-10-04"),
        ('date: " 2026-10-03"\nlastmod: "2026-10-05"', "2026-10-05", None),
        ('publishDate: "2026-10-03 "\ndate: "2026-10-02"', "2026-10-02", "2026-10-02"),
    ],
)
def test_a_date_hugo_ignores_takes_the_fallback_as_in_hugo(
    tmp_path: Path, front: str, date: str, publish: str | None
) -> None:
    post = post_from(tmp_path, f"---\ntitle: T\n{front}\n---\n")
    assert post.date is not None and post.date.date().isoformat() == date
    got = post.publish_date.date().isoformat() if post.publish_date else None
    assert got == publish
    assert any("Hugo ignores it" in w for w in post.warnings)


@pytest.mark.parametrize(
    ("text", "draft"),
    [
        ('---\ndraft: "yes"\n---\n', False),  # strconv.ParseBool cannot parse it: false
        ('---\ndraft: "on"\n---\n', False),
        ('---\ndraft: "t"\n---\n', True),
        ('---\ndraft: "True"\n---\n', True),
        ('---\ndraft: " true"\n---\n', False),
        ("---\ndraft: yes\n---\n", True),  # a YAML 1.1 boolean, not text
        ("---\ndraft: 2\n---\n", True),  # a Go int
        ("---\ndraft: 1.0\n---\n", False),  # a float: cast.ToBool gives up
        ("+++\ndraft = 1\n+++\n", False),  # TOML's int64: cast.ToBool gives up
        ('{"draft": 1}\n', False),  # JSON's float64
        ('+++\ndraft = "true"\n+++\n', True),
    ],
)
def test_draft_is_read_like_hugos_cast_to_bool(tmp_path: Path, text: str, draft: bool) -> None:
    assert post_from(tmp_path, text).draft is draft


def test_front_matter_keys_are_case_insensitive_with_hugo_aliases(tmp_path: Path) -> None:
    post = post_from(
        tmp_path,
        """
        ---
        Title: "Groß"
        Date: 2017-11-10
        PublishDate: 2017-11-12
        ExpiryDate: 2017-11-30
        Modified: 2017-11-20
        Draft: true
        Categories: Nachricht
        Extra_Key: 1
        ---
        """,
    )
    assert post.title == "Groß"
    assert post.publish_date == datetime(2017, 11, 12, tzinfo=BERLIN)
    assert post.expiry_date == datetime(2017, 11, 30, tzinfo=BERLIN)
    assert post.lastmod == datetime(2017, 11, 20, tzinfo=BERLIN)
    assert post.draft is True
    assert post.categories == ("Nachricht",)
    assert post.in_category("nachricht")
    assert post.params == {"extra_key": 1}


@pytest.mark.parametrize(
    ("front", "date", "publish"),
    [
        # no date: publishDate (or an alias), then lastmod
        ("pubdate: 2017-11-12", "2017-11-12", "2017-11-12"),
        ("published: 2017-11-13", "2017-11-13", "2017-11-13"),
        ("lastmod: 2017-11-14", "2017-11-14", None),
        ("modified: 2017-11-15", "2017-11-15", None),
        # publishDate falls back to date, never to lastmod
        ("date: 2017-11-10\nlastmod: 2017-11-20", "2017-11-10", "2017-11-10"),
    ],
)
def test_date_fallback_chain(tmp_path: Path, front: str, date: str, publish: str | None) -> None:
    post = post_from(tmp_path, f"---\ntitle: T\n{front}\n---\n")
    assert post.date is not None
    assert post.date.date().isoformat() == date
    got = post.publish_date.date().isoformat() if post.publish_date else None
    assert got == publish


def test_unpublishdate_is_the_expiry_date(tmp_path: Path) -> None:
    post = post_from(tmp_path, "---\ntitle: T\ndate: 2017-11-01\nunpublishdate: 2017-11-20\n---\n")
    assert post.expiry_date == datetime(2017, 11, 20, tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"veranstaltungstipp"', ("veranstaltungstipp",)),
        ('["veranstaltungstipp", "nachricht"]', ("veranstaltungstipp", "nachricht")),
        ('["  Veranstaltungstipp ", "", "veranstaltungstipp"]', ("Veranstaltungstipp",)),
        ('[""]', ()),
        ('""', ()),
        ("[]", ()),
    ],
)
def test_taxonomies_string_or_list_trimmed_and_empty_dropped(
    tmp_path: Path, value: str, expected: tuple[str, ...]
) -> None:
    post = post_from(
        tmp_path, f"---\ntitle: T\ndate: 2017-11-10\ncategories: {value}\ntags: {value}\n---\n"
    )
    assert post.categories == expected
    assert post.tags == expected


def test_seed_shaped_post(tmp_path: Path) -> None:
    """The shape of the site's real posts: quoted date, string category, tags [""], headline."""
    content = tmp_path / "content"
    target = content / "veranstaltungstipp" / "seed_shape.md"
    target.parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "content" / "seed_shape.md", target)
    post = read_post(target, site=site_config(content))

    assert post.title == "Werkstatt Nachbarschaft"
    assert post.categories == ("veranstaltungstipp",)
    assert post.tags == ()
    assert post.date == datetime(2017, 11, 10, 0, 0, tzinfo=BERLIN)
    assert post.publish_date == post.date
    assert post.draft is False
    assert post.author == "Petra Lindner"
    assert post.thumbnail == ""
    assert post.params == {"headline": {"enabled": False, "background": ""}}
    assert post.summary.startswith("# Nachbarschaft gemeinsam gestalten")
    assert "## Wie Bürger*innen, Initiativen und Verwaltung" in post.summary
    assert "### gemeinsam Projekte im Quartier anstoßen" in post.summary
    assert post.summary.endswith("Termin: 1.–2. Dezember 2017; Ort: Weimar")
    assert "Verbündete" not in post.summary
    assert post.truncated
    assert "<!--more-->" not in post.body
    assert '[hier!](https://example.org/x/\n"titel")' in post.body
    assert not post.warnings and not post.incomplete


def test_missing_title_and_date_are_warnings_not_errors(tmp_path: Path) -> None:
    post = post_from(tmp_path, "---\ndraft: false\n---\nNur Text.\n")
    assert post.incomplete
    assert post.title == "" and post.date is None
    assert len(post.warnings) == 2


def test_a_file_without_front_matter_is_an_incomplete_post(tmp_path: Path) -> None:
    post = post_from(tmp_path, "Nur ein Absatz.\n")
    assert post.incomplete
    assert post.body == "Nur ein Absatz.\n"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('---\ntitle: "ok"\ndate: 2017-11-10\ntags: [a, b\n---\nText\n', 4, "YAML"),
        ('---\ntitle: "ok"\n  bad: indent\n---\n', 3, "YAML"),
        ('+++\ntitle = "ok"\ndate = \n+++\n', 3, "TOML"),
        ('{\n  "title": "ok",\n  "date": "2017-11-10",\n}\nText\n', 4, "JSON"),
        ('---\ntitle: "never closed"\n\nText\n', 1, "never closed"),
        ("---\n- a list\n- not a mapping\n---\n", 2, "mapping"),
    ],
)
def test_broken_front_matter_names_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    content = tmp_path / "content"
    path = content / "posts" / "kaputt.md"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        read_post(path, site=site_config(content))
    assert caught.value.path == path
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '+++\ntitle = "x"\ndate = 2017-11-10\ncategories = veranstaltungstipp\n+++\n',
            "f-toml.md:4: TOML front matter: Invalid value (column 14)",
        ),
        (
            '+++\ntitle = "x\n+++\n',
            "f-toml.md:2: TOML front matter: Illegal character '\\n' (column 11)",
        ),
        (
            '+++\ntitle = "x"\ntags = [1,\n+++\nText\n',
            "f-toml.md:3: TOML front matter: Invalid value (at the end of the front matter)",
        ),
    ],
)
def test_toml_errors_read_cleanly_with_the_file_line(
    tmp_path: Path, text: str, message: str
) -> None:
    content = tmp_path / "content"
    path = write(content, "f-toml.md", text)
    with pytest.raises(ContentError) as caught:
        read_post(path, site=site_config(content))
    assert str(caught.value) == f"{content}/{message}"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # (PyYAML's pure-Python and libyaml loaders agree on lines, not always on words.)
        # The culprit is where the quote, the key or the bracket opens, not where PyYAML gives up.
        (
            '---\ntitle: "Broken\ndate: 2017-11-10\ncategories: x\n---\nText\n',
            2,
            "end of stream (line 5) while scanning a quoted scalar that starts here",
        ),
        ("---\ntitle: ok\nx: 'it\ndate: 2017-11-10\n---\n", 3, "quoted scalar that starts here"),
        (
            "---\ntitle: ok\ndate: 2017-11-10\ntags: [a, b\nauthor: x\n---\nText\n",
            4,
            "(line 5) while parsing a flow sequence that starts here",
        ),
        ("---\ntitle: ok\nx: {a: 1\ndate: 2017-11-10\n---\n", 3, "flow mapping that starts here"),
        ("---\ntitle: ok\nthis is wrong\ndate: x\n---\n", 3, "simple key that starts here"),
        # Noticed where they are: the problem mark is right.
        ('---\ntitle: "ok"\n  bad: indent\n---\n', 3, "expected"),
        ("---\ntitle: ok\n\tx: 1\n---\n", 3, "t"),  # libyaml and PyYAML word it differently
        ('---\ntitle: ok\nx: "a\\qb"\n---\n', 3, "unknown escape character"),
    ],
)
def test_yaml_errors_point_at_the_line_to_fix(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    content = tmp_path / "content"
    path = content / "kaputt.md"
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        read_post(path, site=site_config(content))
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: YAML front matter: ")
    assert words in str(caught.value)


def test_load_posts_reports_a_broken_post_and_reads_the_others(tmp_path: Path) -> None:
    content = tmp_path / "content"
    write(content, "a/gut.md", YAML_POST.format(date="2017-11-10"))
    write(content, "a/kaputt.md", "---\ntitle: [unclosed\n---\n")
    write(content, "b/auch-gut.md", YAML_POST.format(date="2017-11-11"))
    (content / "b" / "latin1.md").write_bytes("---\ntitle: Gr\xfc\xdfe\n---\n".encode("latin-1"))

    result = load_posts(site_config(content))

    assert [p.rel_path for p in result.posts] == ["a/gut.md", "b/auch-gut.md"]
    assert sorted(e.path.name for e in result.errors) == ["kaputt.md", "latin1.md"]
    assert {e.path.name: e.line for e in result.errors}["kaputt.md"] == 2
    assert "UTF-8" in str(next(e for e in result.errors if e.path.name == "latin1.md"))


def test_load_posts_finds_pages_and_bundles_but_not_lists_or_resources(tmp_path: Path) -> None:
    content = tmp_path / "content"
    post = YAML_POST.format(date="2017-11-10")
    write(content, "_index.md", "---\ntitle: Start\n---\n")
    write(content, "tipps/_index.md", "---\ntitle: Tipps\n---\n")
    write(content, "tipps/eins.md", post)
    write(content, "tipps/buendel/index.md", post)
    write(content, "tipps/buendel/notizen.md", post)  # a resource of the bundle, not a page
    write(content, "tipps/buendel/bild.png", "not really a png")
    write(content, "tipps/.versteckt.md", post)
    write(content, "tipps/eins.md~", post)
    write(content, "oben.md", post)

    result = load_posts(site_config(content))

    assert [p.rel_path for p in result.posts] == [
        "oben.md",
        "tipps/buendel/index.md",
        "tipps/eins.md",
    ]
    bundle = result.posts[1]
    assert bundle.bundle and bundle.section == "tipps"
    assert result.posts[0].section == ""
    assert not result.errors


def test_underscore_files_and_folders_are_pages_as_in_hugo(tmp_path: Path) -> None:
    # hugo list all (0.111): only _index.* is special; '.', '#' and a trailing '~' hide a file
    # or a whole folder.
    content = tmp_path / "content"
    post = YAML_POST.format(date="2017-11-10")
    for rel in (
        "tipps/_private.md",
        "tipps/_p.markdown",
        "tipps/_index.markdown",
        "tipps/_index.de.md",  # a section page of a multilingual site
        "tipps/_index.en.markdown",
        "tipps/_entwuerfe/a.md",
        "tipps/_buendel/index.md",
        "tipps/#notiz.md",
        "tipps/n#otiz.md",
        "tipps/~tilde.md",
        "tipps/#ordner/a.md",
        "tipps/ordner~/a.md",
        "tipps/.ordner/a.md",
        "_oben/a.md",
    ):
        write(content, rel, post)

    result = load_posts(site_config(content))

    assert [p.rel_path for p in result.posts] == [
        "_oben/a.md",
        "tipps/_buendel/index.md",
        "tipps/_entwuerfe/a.md",
        "tipps/_p.markdown",
        "tipps/_private.md",
        "tipps/n#otiz.md",
        "tipps/~tilde.md",
    ]


def test_url_with_protocol_is_a_content_error_naming_file_line_and_key(tmp_path: Path) -> None:
    content = tmp_path / "content"
    write(
        content, "a/fremd.md", '---\ntitle: F\ndate: 2017-11-10\nURL: "https://x.example/y"\n---\n'
    )
    write(content, "a/toml.md", '+++\ntitle = "T"\n\nurl = "http://x.example/"\n+++\n')
    write(content, "a/gut.md", YAML_POST.format(date="2017-11-10"))

    result = load_posts(site_config(content))

    assert [p.rel_path for p in result.posts] == ["a/gut.md"]
    errors = {e.path.name: e for e in result.errors}
    assert sorted(errors) == ["fremd.md", "toml.md"]
    assert errors["fremd.md"].line == 4 and errors["toml.md"].line == 4
    assert "fremd.md:4: url 'https://x.example/y'" in str(errors["fremd.md"])
    assert "protocol" in str(errors["toml.md"])


def test_missing_content_dir_is_one_error_naming_it(tmp_path: Path) -> None:
    result = load_posts(site_config(tmp_path / "nirgends"))
    assert result.posts == ()
    assert len(result.errors) == 1
    assert "nirgends" in str(result.errors[0])


def test_crlf_files_and_byte_order_mark(tmp_path: Path) -> None:
    content = tmp_path / "content"
    path = content / "p.md"
    content.mkdir()
    path.write_bytes(b'\xef\xbb\xbf---\r\ntitle: "Windows"\r\ndate: 2017-11-10\r\n---\r\nText\r\n')
    post = read_post(path, site=site_config(content))
    assert post.title == "Windows"
    assert post.body == "Text\n"
