"""The throw-away project most tests write: the base config text and the ``make_project`` type.

The fixture itself is :func:`tests.plugins.project.make_project`, registered in conftest;
:func:`copy_sample` is what the ``sample_project`` fixture does, for wider-scoped fixtures.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from tests.helpers.paths import REPO

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


def copy_sample(root: Path) -> Path:
    """Copy the shipped sample project (config, content, templates) to ``root``; return it.

    Commands run in the copy write ``out/``, ``state/`` and ``outbox/`` there, never into the
    checkout.
    """
    for name in ("config", "content", "templates"):
        shutil.copytree(REPO / name, root / name)
    return root
