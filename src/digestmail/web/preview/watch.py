"""Re-render after a save: the content folder, the templates and the config are watched.

``watchfiles`` (Rust's notify) reports a burst of writes as one change; a short debounce keeps
an editor's save (often a write plus a rename) to one rendering, well within the second the
page promises.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from digestmail.config import load_config
from digestmail.errors import DigestmailError

if TYPE_CHECKING:
    from digestmail.web.preview.app import PreviewState

log = logging.getLogger("digestmail.preview")

DEBOUNCE_MS = 50
IGNORED_SUFFIXES = (".swp", ".swx", "~", ".tmp", ".sqlite", ".sqlite-wal", ".sqlite-shm")


def watch_paths(state: PreviewState) -> list[Path]:
    """The config's folder, the content folder, the project's and the default templates."""
    from digestmail.render.theme import default_theme_dir

    config_path = state.settings.config_path.resolve()
    paths = [config_path.parent]
    try:
        config = load_config(config_path)
    except DigestmailError:  # a broken config: watch its folder, the page shows the error
        return paths
    paths += [
        config.site.content_dir,
        config.project_dir / "templates",
        default_theme_dir().resolve(),
    ]
    return _existing(paths)


def _existing(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        resolved = path.resolve()
        if resolved.exists() and resolved not in out:
            out.append(resolved)
    return out


def _interesting(change: Any, path: str) -> bool:
    return not path.endswith(IGNORED_SUFFIXES) and "/.git/" not in path


async def watch_project(paths: list[Path], rebuild: Callable[[], Awaitable[object]]) -> None:
    """Call ``rebuild`` after each batch of changes under ``paths``, until cancelled."""
    from watchfiles import awatch

    log.info("watching %s", ", ".join(map(str, paths)))
    async for _changes in awatch(
        *paths, debounce=DEBOUNCE_MS, step=DEBOUNCE_MS, watch_filter=_interesting
    ):
        await rebuild()
