"""digestmail and the real ``hugo`` agree on every regular page of a small, awkward site.

The site (``tests/fixtures/hugo_site``) holds the edge cases this project has to get right:
every front-matter format and date form, key case, date aliases and fallbacks, a date Hugo
ignores, drafts, future and expired pages, slugs, ``url``, umlauts in titles and file names,
bundles and nested directories. Hugo (Debian's 0.111) is the referee; without it these tests
are skipped, since the rules they pin are also covered by the other content tests.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from digestmail.config import load_config
from digestmail.content.reader import load_posts
from digestmail.models import Post, Reason
from digestmail.selection.select import is_published
from tests.helpers.cli import Cli
from tests.helpers.content import site_config
from tests.helpers.paths import FIXTURES

HUGO = shutil.which("hugo")
pytestmark = [
    pytest.mark.hugo,
    pytest.mark.skipif(HUGO is None, reason="hugo is not installed (apt-get install hugo)"),
]
SITE = FIXTURES / "hugo_site"
ZERO = "0001-01-01T00:00:00Z"

DIGESTMAIL_CONFIG = """\
[site]
title = "Vergleich"
base_url = "https://example.org/netz/"
language = "de"
timezone = "Europe/Berlin"

[site.permalinks]
veranstaltungstipp = "/:section/:year/:month/:slug/"
a = "/:section/:year/:month/:day/:filename/"
ueber-uns = "/nie/:title/"

[lists.monthly]
name = "Tipps"
from = "Tipps <tipps@example.org>"
subscribers = "config/subscribers/monthly.csv"
categories = ["veranstaltungstipp"]
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A copy of the fixture site with both Hugo's and digestmail's config."""
    root = tmp_path / "site"
    shutil.copytree(SITE, root)
    # A file name git would carry badly on some systems is written here instead.
    (root / "content" / "nachricht" / "Köln*Bonn Tag.md").write_text(
        '---\ntitle: "Sternchen"\ndate: 2017-11-24\n---\n', encoding="utf-8"
    )
    (root / "config" / "subscribers").mkdir(parents=True)
    (root / "config" / "subscribers" / "monthly.csv").write_text(
        "email\nanna@example.org\n", encoding="utf-8"
    )
    (root / "config" / "digestmail.toml").write_text(DIGESTMAIL_CONFIG, encoding="utf-8")
    return root


def run_hugo_list(site: Path, kind: str) -> list[str]:
    assert HUGO is not None
    done = subprocess.run(
        [HUGO, "list", kind, "--source", str(site)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HUGO_CACHEDIR": str(site / ".hugo-cache")},
    )
    return done.stdout.splitlines()


def hugo_list(site: Path) -> dict[str, dict[str, str]]:
    """``hugo list all`` (CSV with a header) keyed by the path relative to ``content/``."""
    rows = csv.DictReader(run_hugo_list(site, "all"))
    return {row["path"].removeprefix("content/"): row for row in rows}


def hugo_paths(site: Path, kind: str) -> set[str]:
    """``hugo list drafts|future|expired``: headerless CSV, the path first."""
    return {row[0].removeprefix("content/") for row in csv.reader(run_hugo_list(site, kind))}


def hugo_date(value: str) -> datetime | None:
    return None if value == ZERO else datetime.fromisoformat(value.replace("Z", "+00:00"))


def same_instant(ours: datetime | None, hugos: str) -> bool:
    """Equal to the second (``hugo list`` prints no fractions), with zero meaning unset."""
    theirs = hugo_date(hugos)
    if ours is None or theirs is None:
        return ours is None and theirs is None
    return ours.replace(microsecond=0) == theirs and ours.utcoffset() == theirs.utcoffset()


def differences(path: str, post: Post, row: dict[str, str]) -> list[str]:
    found = []
    for field, ours in (
        ("date", post.date),
        ("publishDate", post.publish_date),
        ("expiryDate", post.expiry_date),
    ):
        if not same_instant(ours, row[field]):
            found.append(f"{path}: {field} ours={ours} hugo={row[field]}")
    if post.draft != (row["draft"] == "true"):
        found.append(f"{path}: draft ours={post.draft} hugo={row['draft']}")
    if post.permalink != row["permalink"]:
        found.append(f"{path}: permalink ours={post.permalink} hugo={row['permalink']}")
    if post.slug != row["slug"] or post.title != row["title"]:
        found.append(f"{path}: slug/title ours={post.slug!r}/{post.title!r} hugo={row}")
    return found


def test_reader_agrees_with_hugo_list_all(site: Path) -> None:
    config = load_config(site / "config" / "digestmail.toml")
    result = load_posts(config.site)
    hugo = hugo_list(site)

    assert not result.errors
    ours = {p.rel_path: p for p in result.posts}
    assert sorted(ours) == sorted(hugo)
    assert len(ours) >= 20
    problems = [d for path, post in ours.items() for d in differences(path, post, hugo[path])]
    assert problems == []


def test_draft_future_and_expired_agree_with_hugo_now(site: Path) -> None:
    """Our cut-off rule at "now" puts the same pages in Hugo's drafts/future/expired lists."""
    config = load_config(site / "config" / "digestmail.toml")
    posts = load_posts(config.site).posts
    now = datetime.now(config.site.timezone)
    for kind, reason in (
        ("drafts", Reason.DRAFT),
        ("future", Reason.FUTURE),
        ("expired", Reason.EXPIRED),
    ):
        hugo = hugo_paths(site, kind)
        ours = {p.rel_path for p in posts if is_published(p, now) == reason}
        assert hugo, f"the fixture site should have {kind}"
        assert ours == hugo, kind


def cli_json(cli: Cli, site: Path, *args: str) -> list[dict[str, Any]]:
    config = site / "config" / "digestmail.toml"
    done = cli.run("--config", str(config), *args, cwd=site)
    assert done.returncode == 0, done.stderr
    rows: list[dict[str, Any]] = json.loads(done.stdout)
    return rows


def test_cli_posts_json_agrees_with_hugo_list_all(site: Path, cli: Cli) -> None:
    """The acceptance check: ``digestmail posts --list monthly --period 2017-11 --format json``."""
    rows = cli_json(
        cli,
        site,
        "posts",
        "--list",
        "monthly",
        "--period",
        "2017-11",
        "--now",
        "2017-12-01T08:00:00",
        "--format",
        "json",
    )
    hugo = hugo_list(site)
    assert sorted(r["path"] for r in rows) == sorted(hugo)
    problems = []
    for row in rows:
        theirs = hugo[row["path"]]
        for ours_key, hugo_key in (
            ("date", "date"),
            ("publish_date", "publishDate"),
            ("expiry_date", "expiryDate"),
        ):
            ours = datetime.fromisoformat(row[ours_key]) if row[ours_key] else None
            if not same_instant(ours, theirs[hugo_key]):
                problems.append(f"{row['path']}: {ours_key} {row[ours_key]} != {theirs[hugo_key]}")
        if row["draft"] != (theirs["draft"] == "true"):
            problems.append(f"{row['path']}: draft")
        if row["permalink"] != theirs["permalink"]:
            problems.append(f"{row['path']}: {row['permalink']} != {theirs['permalink']}")
    assert problems == []

    selected = {r["path"] for r in rows if r["selected"]}
    assert "veranstaltungstipp/monatsende.md" in selected  # 23:30 on the last day is in
    reasons = {r["path"]: r["reason"] for r in rows}
    assert reasons["veranstaltungstipp/entwurf.md"] == "draft"
    assert reasons["veranstaltungstipp/zukunft.md"] == "future"
    assert reasons["veranstaltungstipp/abgelaufen.md"] == "expired"
    assert reasons["veranstaltungstipp/mit-offset.md"] == "period"  # 05:30 on 1 Dec in Berlin
    assert reasons["veranstaltungstipp/unlesbares-datum.md"] == "incomplete"
    assert reasons["ohne-titel.md"] == "incomplete"
    assert reasons["veranstaltungstipp/leerzeichen-datum.md"] == "incomplete"
    assert "veranstaltungstipp/zonenname.md" in selected  # date from publishDate
    assert "veranstaltungstipp/_private.md" in selected  # only _index.md is a list
    assert "veranstaltungstipp/entwurf-als-text.md" in selected  # draft: "yes" is false
    assert "veranstaltungstipp/#notiz.md" not in reasons  # Hugo ignores '#' files
    assert reasons["nachricht/json-form.md"] == "category"


# Titles (and slugs, file names) that Hugo's query-unescape step changes: '+' at the start, at the
# end, doubled, beside spaces and hyphens, with '#', '%', '?', umlauts and other punctuation.
AWKWARD_TITLES = (
    "Jung + Alt: Generationen im Dialog",
    "C++ Kurs",
    "Klima+Stadt",
    "+Anfang",
    "Ende+",
    "Ende +",
    "++doppelt++",
    "a ++ b",
    "a+ +b",
    "C# und C++",
    "C#+",
    "Preis 100%",
    "50%+ Rabatt",
    "a%2Bb",
    "a%20b",
    "a%2b+c",
    "a%zz+b",
    "100 % + 5",
    "Grün+Blau",
    "Über+Ä ö",
    "Ölstraße + Co",
    "a+#b",
    "a#b+c",
    "x+y#z+w",
    "#anfang+x",
    "frage?+antwort",
    "a&b+c",
    "a=b+c",
    "a;b+c",
    "a + - b",
    "a - + b",
    "a+-b",
    "a-+b",
    "+ + +",
    "a\\b+c",
    "a/b+c",
    "a~b+c",
    "a@b+c",
    "a+b:c",
    "a+b.html",
    "Tag der offenen Tür",
    "C# & F#",  # Go's URL type: after the first '#' (the fragment) a '#' becomes %23
    "#Klimastreik: Demo #FFF",
    "x # y # z",
    "Öl#Ä#ß",
    "a#b?c#d",
)
AWKWARD_FILE_NAMES = ("C++ Kurs", "Klima+Stadt", "+a", "a%2Bb", "x+#y", "Grün+Blau")
AWKWARD_PERMALINKS = {
    "slug": "/:section/:slug/",
    "title": "/Blog/:year/:title/",
    "datei": "/:section/:filename/",
    "beides": "/:section/:slugorfilename/",
}


def test_permalinks_of_awkward_titles_agree_with_hugo(tmp_path: Path) -> None:
    """Titles, slugs and file names under patterns, and slugs without one, as Hugo links them."""
    root = tmp_path / "site"
    content = root / "content"
    patterns = "".join(f'{key} = "{value}"\n' for key, value in AWKWARD_PERMALINKS.items())
    root.mkdir()
    (root / "config.toml").write_text(
        'baseURL = "https://example.org/"\n'
        'disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]\n'
        f"[permalinks]\n{patterns}",
        encoding="utf-8",
    )

    def page(rel: str, **meta: str) -> None:
        path = content / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        front = json.dumps({"date": "2020-01-01", **meta}, ensure_ascii=False)
        path.write_text(front + "\n", encoding="utf-8")

    for i, title in enumerate(AWKWARD_TITLES):
        page(f"slug/t{i}.md", title=title)
        page(f"slug/s{i}.md", title="x", slug=title)
        page(f"title/t{i}.md", title=title)
        page(f"ohne/s{i}.md", title="x", slug=title)
    for i, name in enumerate(AWKWARD_FILE_NAMES):
        page(f"datei/{name}.md", title="x")
        page(f"ohne/{name}.md", title="x")
        page(f"beides/{name}.md", title="Titel zählt nicht")
        page(f"beides/s{i}.md", title="x", slug=name)

    result = load_posts(site_config(content, permalinks=AWKWARD_PERMALINKS))
    hugo = hugo_list(root)

    assert not result.errors
    ours = {p.rel_path: p.permalink for p in result.posts}
    assert sorted(ours) == sorted(hugo)
    assert len(ours) == 4 * len(AWKWARD_TITLES) + 4 * len(AWKWARD_FILE_NAMES)
    problems = [
        f"{path}: ours={ours[path]} hugo={row['permalink']}"
        for path, row in sorted(hugo.items())
        if ours[path] != row["permalink"]
    ]
    assert problems == []


# Date strings around the layouts Go's cast tries for Hugo: each accepted layout, and the near
# misses Hugo gives no date (spaces, zone names where the layout has none, case, digits).
DATE_FORMS = (
    "2026-10-03",
    " 2026-10-03 ",
    "2026-10-03 ",
    "2026-10-03T10:00:00",
    "2026-10-03T9:00:00",
    "2026-10-03T10:00:00Z",
    "2026-10-03T10:00:00+02:00",
    "2026-10-03T10:00:00 +02:00",
    "2026-10-03T10:00:00+0200",
    "2026-10-03T10:00:00 +0200",
    "2026-10-03T10:00:00.5+02:00",
    "2026-10-03T10:00:00,25",
    "2026-10-03T10:00:00.1234567891Z",
    "2026-10-03T10:00",
    "2026-10-03t10:00:00Z",
    "2026-10-03T10:00:00z",
    "2026-10-03 10:00:00",
    "2026-10-03  10:00:00",
    "2026-10-03 10:00",
    "2026-10-03 10:00:00Z",
    "2026-10-03 10:00:00 Z",
    "2026-10-03 10:00:00+02:00",
    "2026-10-03 10:00:00+0200",
    "2026-10-03 10:00:00 +02:00",
    "2026-10-03 10:00:00 +0200",
    "2026-10-03 10:00:00 CEST",
    "2026-10-03T10:00:00 CEST",
    "2026-10-03 10:00:00 +0200 CEST",
    "2026-10-03 10:00:00.5 +0500 CET",
    "2026-10-03 10:00:00 +0200 UTC",
    "2026-10-03 10:00:00 +0200 GMT+3",
    "2026-1-03",
    "2026-02-30",
    "03 Oct 2026",
    "3 Oct 2026",
    "03 oct 2026",
    "Sat, 03 Oct 2026 10:00:00 +0200",
    "Sat, 3 Oct 2026 10:00:00 +0200",
    "Sat,  03 Oct 2026 10:00:00 +0200",
    "SAT, 03 OCT 2026 10:00:00 +0200",
    "Mon, 03 Oct 2026 10:00:00 +0200",
    "Sat, 03 Oct 2026 10:00:00 CEST",
    "Sat, 03 Oct 2026 10:00:00 UTC",
    "Sat, 03 Oct 2026 10:00:00 GMT+3",
    "Sat, 03 Oct 2026 10:00:00 GMT+24",
    "Sat, 03 Oct 2026 10:00:00 +03",
    "Sat, 03 Oct 2026 10:00:00 cest",
    "Sat, 03 Oct 2026 10:00:00 ABCDE",
    "03 Oct 2026 10:00 +0200",
    "03 Oct 26 10:00 +0200",
    "03 Oct 70 10:00 CET",
    "03 Oct 68 10:00 +0200",
    "03 Oct 26 10:00 Z",
    "Saturday, 03-Oct-26 10:00:00 CEST",
    "Sat Oct  3 10:00:00 2026",
    "Sat Oct 03 10:00:00 2026",
    "Sat Oct  3 10:00:00 CEST 2026",
    "Sat Oct 03 10:00:00 +0200 2026",
    "1701234567",
    "2017-11-10  09:00:00",
    "10 nov 2017",
    "Fri, 10 Nov 2017 09:00:00 +0500",
    "Fri, 10 Nov 2017 09:00:00 UTC",
    "Fri, 10 Nov 2017 09:00:00 GMT+3",
    "10 Nov 68 09:00 +0500",
    "10 Nov 70 09:00 CET",
    "Friday, 10-Nov-17 09:00:00 CET",
    "Fri Nov 10 09:00:00 2017",
    "Mon Nov  6 09:00:00 CET 2017",
    "Fri Nov 10 09:00:00 +0500 2017",
    "2017-11-10 09:00:00.5 +0500 CET",
    "2017-11-10 09:00:00 +0500 UTC",
    "2017-11-10 09:00:00+0500",
)


def bare_site(tmp_path: Path, extra_config: str = "") -> tuple[Path, Path]:
    """A Hugo site of pages only (section ``d``): its root and the section's folder."""
    root = tmp_path / "site"
    content = root / "content" / "d"
    content.mkdir(parents=True)
    (root / "config.toml").write_text(
        'baseURL = "https://example.org/"\n'
        + extra_config
        + 'disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]\n',
        encoding="utf-8",
    )
    return root, content


def test_date_forms_agree_with_hugo(tmp_path: Path) -> None:
    """Each form as a quoted YAML string and as a TOML string: same date as Hugo, or none."""
    root, content = bare_site(tmp_path, 'timeZone = "Europe/Berlin"\n')
    for i, form in enumerate(DATE_FORMS):
        quoted = json.dumps(form)  # a JSON string is a valid YAML and TOML basic string
        (content / f"y{i}.md").write_text(f"---\ntitle: y\ndate: {quoted}\n---\n")
        (content / f"t{i}.md").write_text(f"+++\ntitle = 't'\ndate = {quoted}\n+++\n")

    result = load_posts(site_config(root / "content"))
    hugo = hugo_list(root)

    assert not result.errors
    ours = {p.rel_path: p for p in result.posts}
    assert sorted(ours) == sorted(hugo)
    problems = [
        f"{DATE_FORMS[int(path[3:-3])]!r}: ours={post.date} hugo={hugo[path]['date']}"
        for path, post in sorted(ours.items())
        if not same_instant(post.date, hugo[path]["date"])
    ]
    assert problems == []
    accepted = sum(1 for post in ours.values() if post.date is not None)
    assert 0 < accepted < len(ours)


# draft values as written in each front-matter format; Hugo 0.111 reads them with cast.ToBool.
DRAFT_FORMS = {
    "yaml": (
        *('"yes"', '"true"', '"True"', '"TRUE"', '"tRue"', '"t"', '"T"', '"1"', '"on"', '" true"'),
        *('"0"', '"f"', '"false"', "yes", "Yes", "on", "no", "true", "True", "TRUE"),
        *("1", "0", "2", "-1", "0x1", "1.0", "0.0", "[true]", "{a: 1}", "~", ""),
    ),
    "toml": ('"true"', '"yes"', '"1"', '"t"', "1", "0", "2", "1.0", "0.5", "true", "[true]"),
    "json": ('"yes"', "1", "0", "2", "1.5", "true", '"True"', '"1"', "null", '"TRUE"'),
}


def test_draft_values_agree_with_hugo(tmp_path: Path) -> None:
    root, content = bare_site(tmp_path)
    forms: dict[str, str] = {}
    for fmt, values in DRAFT_FORMS.items():
        for i, value in enumerate(values):
            name = f"{fmt}{i}.md"
            forms[f"d/{name}"] = f"{fmt} {value}"
            text = {
                "yaml": f"---\ntitle: x\ndate: 2020-01-01\ndraft: {value}\n---\n",
                "toml": f"+++\ntitle = 'x'\ndate = 2020-01-01\ndraft = {value}\n+++\n",
                "json": f'{{"title": "x", "date": "2020-01-01", "draft": {value}}}\n',
            }[fmt]
            (content / name).write_text(text, encoding="utf-8")

    result = load_posts(site_config(root / "content"))
    hugo = hugo_list(root)

    assert not result.errors
    ours = {p.rel_path: p.draft for p in result.posts}
    assert sorted(ours) == sorted(hugo)
    problems = [
        f"{forms[path]}: ours={ours[path]} hugo={row['draft']}"
        for path, row in sorted(hugo.items())
        if ours[path] != (row["draft"] == "true")
    ]
    assert problems == []
    assert 0 < sum(ours.values()) < len(ours)


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("https://other.example/x", True),
        ("http://other.example/x", True),
        ("HTTPS://other.example/x", False),  # Hugo's test is case-sensitive: a path to it
        ("ftp://other.example/x", False),
        ("//other.example/x", False),
    ],
)
def test_url_with_protocol_is_refused_as_hugo_refuses_it(
    tmp_path: Path, url: str, refused: bool
) -> None:
    root = tmp_path / "site"
    content = root / "content" / "s"
    content.mkdir(parents=True)
    (root / "config.toml").write_text('baseURL = "https://example.org/"\n', encoding="utf-8")
    (content / "fremd.md").write_text(
        f'---\ntitle: "Fremd"\ndate: 2020-01-01\nurl: "{url}"\n---\n', encoding="utf-8"
    )
    (content / "gut.md").write_text("---\ntitle: Gut\ndate: 2020-01-01\n---\n", encoding="utf-8")

    assert HUGO is not None
    done = subprocess.run(
        [HUGO, "list", "all", "--source", str(root)],
        capture_output=True,
        text=True,
        env={**os.environ, "HUGO_CACHEDIR": str(root / ".hugo-cache")},
    )
    result = load_posts(site_config(root / "content"))

    assert (done.returncode != 0) is refused
    assert ("URLs with protocol (http*) not supported" in done.stderr) is refused
    assert [p.rel_path for p in result.posts] == (
        ["s/gut.md"] if refused else ["s/fremd.md", "s/gut.md"]
    )
    if refused:
        (error,) = result.errors
        assert error.path == content / "fremd.md"
        assert error.line == 4
        assert "url" in str(error) and "protocol" in str(error)
    else:
        assert result.errors == ()
