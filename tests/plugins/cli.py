"""The ``cli`` fixture: runs ``digestmail`` without the caller's ``DIGESTMAIL_*`` variables.

See :mod:`tests.helpers.cli` for what it does; registered in conftest.
"""

from __future__ import annotations

import pytest

from tests.helpers.cli import Cli


@pytest.fixture(scope="session")
def cli() -> Cli:
    """Stateless: each call builds its environment from ``os.environ`` at that moment."""
    return Cli()
