"""Helpers for the content, period and selection tests: a real site config and real files.

Tests write posts into ``tmp_path`` and read them back through the public functions, so each
one exercises the same path the CLI takes; nothing here fakes the file system.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo

from digestmail.config import SiteConfig
from digestmail.content.reader import read_post
from digestmail.models import Post
from tests.helpers.paths import FIXTURES

__all__ = ["BERLIN", "FIXTURES", "post_from", "site_config", "write"]

BERLIN = ZoneInfo("Europe/Berlin")


def site_config(
    content_dir: Path,
    *,
    permalinks: Mapping[str, str] | None = None,
    base_url: str = "https://example.org/",
    timezone: str = "Europe/Berlin",
) -> SiteConfig:
    return SiteConfig(
        title="Testnetz",
        base_url=base_url,
        language="de",
        timezone=ZoneInfo(timezone),
        content_dir=content_dir,
        permalinks=dict(permalinks or {}),
        archive_dir=content_dir.parent / "archive",
        archive_url="",
    )


def write(content_dir: Path, rel: str, text: str) -> Path:
    """Write a post (dedented, leading newline dropped) and return its path."""
    path = content_dir / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def post_from(
    tmp_path: Path,
    text: str,
    *,
    rel: str = "posts/p.md",
    permalinks: Mapping[str, str] | None = None,
    base_url: str = "https://example.org/",
) -> Post:
    """Write one post under ``tmp_path/content`` and read it with the real reader."""
    content = tmp_path / "content"
    path = write(content, rel, text)
    return read_post(path, site=site_config(content, permalinks=permalinks, base_url=base_url))
