"""``serve``: the sample project with ``[web]`` set, served by a real uvicorn on 127.0.0.1.

See :mod:`tests.helpers.web`; registered in conftest.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.web import Served, bind_local, run_app, web_section


@pytest.fixture
def serve(sample_project: Path) -> Iterator[Served]:
    sock = bind_local()
    config = sample_project / "config" / "digestmail.toml"
    with config.open("a", encoding="utf-8") as out:
        out.write(web_section(sock.getsockname()[1]))
    with run_app(config, sock) as served:
        yield served
