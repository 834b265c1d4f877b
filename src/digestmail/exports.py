"""A stage package's public names, imported on first use.

Each stage's ``__init__`` names the few things the next stage uses, so callers write
``from digestmail.deliver import SendJob`` without knowing the module. Importing them eagerly
would load every module of a stage (and aiosmtplib, croniter, PyYAML with them) whenever any
one of its modules is imported, undoing the start-up time the lazy imports buy; PEP 562's
module ``__getattr__`` loads a name's module only when the name is first asked for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``names`` maps each export to its module."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{module}"), name)

    return __getattr__
