"""The throw-away project most tests write: the base config text and the ``make_project`` type.

The fixture itself is :func:`tests.plugins.project.make_project`, registered in conftest.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
