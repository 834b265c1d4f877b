"""A running ``digestmail preview`` on 127.0.0.1 (a free port) over a small project, and Chromium.

The preview runs as the real command in a subprocess, so a test sees exactly what an editor
does: the URL it prints, the page, the reload after a save.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.paths import REPO
from tests.helpers.project import MakeProject

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
NOW = "2017-12-01T08:00"

POSTS = {
    "veranstaltungstipp/werkstatt.md": """
        ---
        title: "Werkstatt Bürgerhaushalt"
        date: "2017-11-10"
        categories: ["veranstaltungstipp"]
        ---
        Termin: 8. Dezember 2017 im Rathaus.
        """,
    "veranstaltungstipp/fest.md": """
        ---
        title: "Sommerfest der Initiativen"
        date: "2017-11-20"
        categories: ["veranstaltungstipp"]
        ---
        Alle sind eingeladen.
        """,
    "veranstaltungstipp/entwurf.md": """
        ---
        title: "Entwurf"
        date: "2017-11-12"
        draft: true
        categories: ["veranstaltungstipp"]
        ---
        Nicht fertig.
        """,
}
EXTRA = """
[preview]
test_addresses = ["redaktion@example.org"]
"""


@dataclass
class Running:
    url: str
    root: Path
    config: Path
    process: subprocess.Popen[str]

    def get(self, path: str = "/") -> str:
        with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=10) as response:
            return str(response.read().decode("utf-8"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_preview(config: Path, *extra: str) -> Running:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("DIGESTMAIL_SECRET", None)
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "digestmail", "--config", str(config), "preview"),
            *("--list", "monthly", "--now", NOW, "--port", str(port), *extra),
        ],
        cwd=config.parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline().strip()  # the URL, printed once the socket is bound
    assert line == f"http://127.0.0.1:{port}/", line
    return Running(line, config.parent.parent, config, process)


@pytest.fixture
def preview_server(make_project: MakeProject) -> Iterator[Running]:
    running = start_preview(make_project(posts=POSTS, extra_config=EXTRA))
    try:
        yield running
    finally:
        running.process.terminate()
        running.process.wait(timeout=10)


def wait_for(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's chromium at /usr/bin")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()
