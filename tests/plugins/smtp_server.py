"""Fixtures for the SMTP test server (:mod:`tests.helpers.smtp_server`), registered in conftest.

``smtp_password`` puts the relay's password into this process's environment, where the
transport reads it; a CLI subprocess or in-process run through the ``cli`` fixture starts from
an environment without ``DIGESTMAIL_*``, so such a test passes the password on itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.smtp_server import PASSWORD, Faults, SmtpTestServer


@pytest.fixture
def smtp_password(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DIGESTMAIL_TEST_SMTP_PASSWORD", PASSWORD)
    return PASSWORD


@pytest.fixture
def smtp_server(tmp_path: Path, smtp_password: str) -> Iterator[SmtpTestServer]:
    """A STARTTLS + AUTH server with the default faults (451 twice for ``tempfail451``)."""
    server = SmtpTestServer(tmp_path, faults=Faults(tempfail_times=2)).start()
    try:
        yield server
    finally:
        server.stop()
