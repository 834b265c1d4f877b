"""Builders for render and message tests: a Config, Posts and a Selection made by hand.

Posts are built directly (not through the content reader) so these tests only depend on what
render promises, and the seed-shaped fixture file is split the simple way Hugo would split it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from digestmail.config import Config, ListConfig, parse_config
from digestmail.models import CategoryGroup, Period, Post, Selection
from tests.helpers import paths

FIXTURES = paths.FIXTURES / "render"
BERLIN = ZoneInfo("Europe/Berlin")
NOVEMBER = Period(
    key="2017-11",
    kind="month",
    start=datetime(2017, 11, 1, tzinfo=BERLIN),
    end=datetime(2017, 12, 1, tzinfo=BERLIN),
)


def make_config(
    tmp_path: Path,
    *,
    site: dict[str, Any] | None = None,
    lists: dict[str, Any] | None = None,
) -> Config:
    """A validated Config rooted at tmp_path (the project dir), without touching the disk."""
    raw: dict[str, Any] = {
        "site": {
            "title": "Testnetz Beteiligung",
            "base_url": "https://example.org/",
            "language": "de",
            "timezone": "Europe/Berlin",
            **(site or {}),
        },
        "lists": {
            "monthly": {
                "name": "Veranstaltungstipps",
                "from": "Tipps <tipps@example.org>",
                "subscribers": "config/subscribers/monthly.csv",
                "categories": ["veranstaltungstipp"],
                "unsubscribe_mailto": "abmelden@example.org",
                **(lists or {}),
            }
        },
    }
    return parse_config(raw, path=tmp_path / "config" / "digestmail.toml")


def monthly(config: Config) -> ListConfig:
    return config.get_list("monthly")


def make_post(
    *,
    title: str = "Ein Tipp",
    slug: str = "ein-tipp",
    day: int = 10,
    summary: str = "Kurz und gut.",
    body: str | None = None,
    thumbnail: str = "",
    bundle: bool = False,
    section: str = "veranstaltungstipp",
) -> Post:
    permalink = f"https://example.org/{section}/2017/11/{slug}/"
    return Post(
        path=Path(f"/site/content/{section}/{slug}.md"),
        rel_path=f"{section}/{slug}.md",
        section=section,
        slug=slug,
        title=title,
        date=datetime(2017, 11, day, 9, 0, tzinfo=BERLIN),
        publish_date=None,
        expiry_date=None,
        lastmod=None,
        draft=False,
        categories=("veranstaltungstipp",),
        tags=(),
        author="Testredaktion",
        thumbnail=thumbnail,
        summary=summary,
        body=body if body is not None else summary,
        permalink=permalink,
        bundle=bundle,
        truncated=body is not None and body != summary,
    )


def post_from_fixture(name: str, **overrides: Any) -> Post:
    """A post from a fixture file with YAML front matter and a ``<!--more-->`` marker."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    _, front, markdown = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    summary, _, rest = markdown.partition("<!--more-->")
    options: dict[str, Any] = {
        "title": meta["title"],
        "slug": Path(name).stem,
        "summary": summary.strip() + "\n",
        "body": (summary + rest).strip() + "\n",
        "thumbnail": meta.get("thumbnail") or "",
    }
    options.update(overrides)
    return make_post(**options)


def make_selection(*posts: Post, list_name: str = "monthly") -> Selection:
    return Selection(
        list_name=list_name,
        period=NOVEMBER,
        cutoff=NOVEMBER.end,
        groups=(CategoryGroup(category="veranstaltungstipp", posts=tuple(posts)),),
        excluded=(),
    )
