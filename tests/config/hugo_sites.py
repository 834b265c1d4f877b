"""Tiny Hugo sites under ``tmp_path``, read by digestmail and, when installed, by ``hugo``.

Each test writes the few files its rule needs (a Hugo config, some posts, a one-section
``digestmail.toml`` in ``config/``), so the real ``hugo list all`` (Debian's 0.111) can be the
referee of exactly that rule; without ``hugo`` those comparisons are skipped.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from digestmail.config import Config, load_config
from digestmail.content.reader import load_posts
from digestmail.models import Post

HUGO = shutil.which("hugo")
needs_hugo = [
    pytest.mark.hugo,
    pytest.mark.skipif(HUGO is None, reason="hugo is not installed (apt-get install hugo)"),
]
ZERO = "0001-01-01T00:00:00Z"
QUIET = 'disableKinds = ["taxonomy", "term", "RSS", "sitemap", "robotsTXT", "404"]\n'
LIST = """[site]
[lists.monthly]
from = "Tipps <tipps@example.org>"
subscribers = "config/subscribers/monthly.csv"
categories = ["tipp"]
"""


def make_site(
    root: Path,
    *,
    hugo: str,
    posts: Mapping[str, str],
    digestmail: str = "[site]\n",
    hugo_file: str = "hugo.toml",
) -> Path:
    """Write a Hugo site with digestmail's config in ``config/``; return the config's path."""
    files = {hugo_file: QUIET + hugo if hugo_file.endswith(".toml") else hugo, **posts}
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    config = root / "config" / "digestmail.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(digestmail, encoding="utf-8")
    return config


def post(title: str, *extra: str, date: str = "2024-10-03") -> str:
    """A YAML front matter post: the title as written (quoted), a date, any extra lines."""
    lines = [f'title: "{title}"']
    if date:
        lines.append(f"date: {date}")
    lines.extend(extra)
    return "---\n" + "\n".join(lines) + "\n---\nText.\n"


def read(config_path: Path) -> tuple[Config, dict[str, Post]]:
    config = load_config(config_path)
    result = load_posts(config.site)
    assert not result.errors, result.errors
    return config, {p.rel_path: p for p in result.posts}


def hugo_list(site: Path) -> dict[str, dict[str, str]]:
    """``hugo list all`` keyed by the path relative to the content dir."""
    assert HUGO is not None
    done = subprocess.run(
        [HUGO, "list", "all", "--source", str(site)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HUGO_CACHEDIR": str(site / ".hugo-cache")},
    )
    rows = csv.DictReader(done.stdout.splitlines())
    return {row["path"].split("/", 1)[1]: row for row in rows}


def _same(ours: datetime | None, theirs: str) -> bool:
    if theirs == ZERO or ours is None:
        return theirs == ZERO and ours is None
    expected = datetime.fromisoformat(theirs.replace("Z", "+00:00"))
    return ours.replace(microsecond=0) == expected


def differences(posts: Mapping[str, Post], hugo: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Every field where digestmail and ``hugo list all`` disagree, and pages only one lists."""
    found = [f"only digestmail: {p}" for p in sorted(set(posts) - set(hugo))]
    found += [f"only hugo: {p}" for p in sorted(set(hugo) - set(posts))]
    for rel in sorted(set(posts) & set(hugo)):
        ours, row = posts[rel], hugo[rel]
        pairs = {
            "permalink": (ours.permalink, row["permalink"]),
            "slug": (ours.slug, row["slug"]),
            "title": (ours.title, row["title"]),
        }
        for field, (mine, theirs) in pairs.items():
            if mine != theirs:
                found.append(f"{rel}: {field} ours={mine!r} hugo={theirs!r}")
        for field, value in (
            ("date", ours.date),
            ("publishDate", ours.publish_date),
            ("expiryDate", ours.expiry_date),
        ):
            if not _same(value, row[field]):
                found.append(f"{rel}: {field} ours={value} hugo={row[field]}")
    return found


@dataclass(frozen=True)
class Site:
    """A tiny site's files: the Hugo config, the posts, digestmail's config."""

    hugo: str
    posts: Mapping[str, str]
    digestmail: str = "[site]\n"
    hugo_file: str = "hugo.toml"

    def write(self, root: Path) -> Path:
        return make_site(
            root,
            hugo=self.hugo,
            posts=self.posts,
            digestmail=self.digestmail,
            hugo_file=self.hugo_file,
        )

    def posts_read(self, root: Path) -> dict[str, Post]:
        return read(self.write(root))[1]


def assert_hugo_agrees(site: Site, root: Path) -> None:
    """``hugo list all`` and digestmail see the same pages with the same fields."""
    config_path = site.write(root)
    _, posts = read(config_path)
    assert differences(posts, hugo_list(root)) == []
