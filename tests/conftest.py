"""Fixtures every test module may use: a throw-away project directory with a real config file.

Area-specific fixtures (the SMTP server, fixture sites) live in their own helper modules and are
imported where needed, so this file stays small and shared.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

BASE_CONFIG = """\
[site]
title = "Testnetz Beteiligung"
base_url = "https://example.org/"
language = "de"
timezone = "Europe/Berlin"

[site.permalinks]
veranstaltungstipp = "/:section/:year/:month/:slug/"

[lists.monthly]
name = "Veranstaltungstipps"
from = "Tipps <tipps@example.org>"
subscribers = "config/subscribers/monthly.csv"
categories = ["veranstaltungstipp"]
unsubscribe_mailto = "abmelden@example.org"
"""

MakeProject = Callable[..., Path]


@pytest.fixture
def make_project(tmp_path: Path) -> MakeProject:
    """Write a project (config, subscribers, posts) under tmp_path and return the config path.

    ``posts`` maps paths relative to ``content/`` to file text; ``config`` replaces the base
    config text; ``extra_config`` is appended to it.
    """

    def make(
        *,
        posts: dict[str, str] | None = None,
        subscribers: str = "email,name\nanna@example.org,Anna\n",
        config: str = BASE_CONFIG,
        extra_config: str = "",
    ) -> Path:
        cfg = tmp_path / "config" / "digestmail.toml"
        cfg.parent.mkdir(parents=True, exist_ok=True)
        cfg.write_text(config + textwrap.dedent(extra_config), encoding="utf-8")
        subs = tmp_path / "config" / "subscribers" / "monthly.csv"
        subs.parent.mkdir(parents=True, exist_ok=True)
        subs.write_text(subscribers, encoding="utf-8")
        content = tmp_path / "content"
        content.mkdir(exist_ok=True)
        for rel, text in (posts or {}).items():
            target = content / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return cfg

    return make
