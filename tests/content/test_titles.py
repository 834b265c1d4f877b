"""Placeholder titles: a post titled like all its siblings takes its first heading as title."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from digestmail.config import SiteConfig
from digestmail.content.reader import load_posts
from digestmail.content.titles import opening_headings
from tests.helpers.cli import Cli
from tests.helpers.content import site_config, write
from tests.helpers.project import MakeProject

SEED_FRONT = """\
---
title: "{title}"
date: "{date}"
draft: false
author: "Rita Beispiel"
categories: "veranstaltungstipp"
tags: [""]
thumbnail: ""
headline:
  enabled: false
  background: ""
---
"""


def seed_post(heading: str, *, title: str = "Mein Veranstaltungstipp", day: int = 10) -> str:
    """A post shaped like the first user's: placeholder title, the real one as the first
    heading, a two-line subtitle in smaller headings, and a manual summary."""
    return (
        SEED_FRONT.format(title=title, date=f"2026-10-{day:02d}")
        + f"\n# {heading}\n\n## Ein Abend für alle,\n### die mitreden wollen  \n\n"
        + f"Termin: {day}. Oktober 2026; Ort: Rathaus\n\n<!--more-->\n\nMehr dazu im Netz.\n"
    )


def site_with(tmp_path: Path, posts: dict[str, str], **settings: object) -> SiteConfig:
    content = tmp_path / "content"
    for rel, text in posts.items():
        write(content, rel, text)
    return dataclasses.replace(site_config(content), **settings)  # type: ignore[arg-type]


POSTS = {
    "blog/2026_10_10_veranstaltungstipp.md": seed_post("Kommune gemeinsam gestalten"),
    "blog/2026_10_12_veranstaltungstipp.md": seed_post("Werkstatt *Spielplatz*", day=12),
    "blog/2026_10_14_veranstaltungstipp.md": seed_post("Forum [Klima](/klima/)", day=14),
}


def test_opening_headings_reads_atx_and_setext_and_leaves_the_rest() -> None:
    assert opening_headings("\n# Eins\n\n## Zwei *drei*\n\nText.\n") == (
        ["Eins", "Zwei drei"],
        "Text.\n",
    )
    assert opening_headings("Titel\n=====\nText") == (["Titel"], "Text")
    assert opening_headings("Text zuerst.\n\n# Dann\n") is None
    assert opening_headings("# Bürger*innen im Rat\n") == (["Bürger*innen im Rat"], "")


def test_a_shared_title_over_a_heading_gives_way_to_the_heading(tmp_path: Path) -> None:
    site = site_with(tmp_path, POSTS)
    posts = {p.rel_path: p for p in load_posts(site).posts}
    first = posts["blog/2026_10_10_veranstaltungstipp.md"]
    assert first.title == "Mein Veranstaltungstipp"  # Hugo's title, and its permalink's
    assert first.headline is not None
    assert first.headline.title == "Kommune gemeinsam gestalten"
    assert first.headline.subtitle == "Ein Abend für alle, die mitreden wollen"
    assert first.headline.summary == "Termin: 10. Oktober 2026; Ort: Rathaus"
    assert "Kommune gemeinsam" not in first.headline.body
    titles = sorted(p.shown().title for p in posts.values())
    assert titles == ["Forum Klima", "Kommune gemeinsam gestalten", "Werkstatt Spielplatz"]


def test_a_lone_title_over_a_heading_is_kept_unless_named(tmp_path: Path) -> None:
    lone = {"blog/a.md": seed_post("Echter Titel", title="Ein eigener Titel")}
    (post,) = load_posts(site_with(tmp_path, lone)).posts
    assert post.headline is None
    assert post.shown().title == "Ein eigener Titel"
    named = site_with(tmp_path, lone, placeholder_titles=("ein EIGENER titel",))
    (post,) = load_posts(named).posts
    assert post.shown().title == "Echter Titel"


def test_shared_titles_without_an_opening_heading_are_real_titles(tmp_path: Path) -> None:
    plain = SEED_FRONT.format(title="Termine", date="2026-10-10") + "\nText zuerst.\n"
    posts = {"blog/a.md": plain, "blog/b.md": plain}
    assert all(p.headline is None for p in load_posts(site_with(tmp_path, posts)).posts)


def build(cli: Cli, cfg: Path) -> tuple[str, str]:
    out = cfg.parent.parent / "out"
    done = cli.invoke(
        "--config", str(cfg), "build", "--list", "monthly", "--period", "2026-10",
        "--now", "2026-11-02T09:00", "--out", str(out),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    html = (out / "monthly-2026-10.html").read_text(encoding="utf-8")
    # The hidden preview line repeats the first tip's title for the inbox list: not a tip.
    html = re.sub(r'<div class="preheader".*?</div>', "", html, flags=re.S)
    return html, (out / "monthly-2026-10.txt").read_text(encoding="utf-8")


def test_the_digest_shows_each_heading_once_as_the_tip_title(
    make_project: MakeProject, cli: Cli
) -> None:
    html, text = build(cli, make_project(posts=POSTS))
    for title in ("Kommune gemeinsam gestalten", "Werkstatt Spielplatz", "Forum Klima"):
        assert html.count(title) == 1, title
        assert text.count(title) == 1, title
    assert "Mein Veranstaltungstipp" not in html
    assert html.count("Ein Abend für alle, die mitreden wollen") == 3  # the subtitles
    assert "Termin: 12. Oktober 2026" in text


def test_a_list_can_keep_the_front_matter_titles(make_project: MakeProject, cli: Cli) -> None:
    cfg = make_project(posts=POSTS, extra_config='title_from = "front_matter"\n')
    html, _ = build(cli, cfg)
    assert html.count("Mein Veranstaltungstipp") == 3


def test_posts_lists_the_title_the_digest_will_use(make_project: MakeProject, cli: Cli) -> None:
    cfg = make_project(posts=POSTS)
    done = cli.invoke("--config", str(cfg), "posts", "--format", "json")
    rows = json.loads(done.stdout)
    assert {r["title"] for r in rows} == {
        "Kommune gemeinsam gestalten",
        "Werkstatt Spielplatz",
        "Forum Klima",
    }
    assert {r["front_matter_title"] for r in rows} == {"Mein Veranstaltungstipp"}
