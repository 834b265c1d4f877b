"""Project fixtures: a throw-away project written by hand, or a copy of the shipped sample."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.helpers.project import BASE_CONFIG, MakeProject, copy_sample


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


@pytest.fixture
def sample_project(tmp_path: Path) -> Path:
    """A copy of the shipped sample project in tmp_path (see :func:`copy_sample`)."""
    return copy_sample(tmp_path)
