"""A real uvicorn serving ``digestmail serve``'s app on 127.0.0.1, in a thread of the test.

The socket is bound first (port 0: the system picks a free one), so the config can name the
real URL in ``web.base_url`` before the app is built from it; the sends of a test then put
exactly that URL into ``List-Unsubscribe``. The fixture is ``tests.plugins.web.serve``.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from digestmail.config import Config, load_config
from digestmail.deliver.transports.base import Transport

SECRET = "serve-test-secret-0123456789abcdef"


def bind_local() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def web_section(port: int, extra: str = "") -> str:
    return f'\n[web]\nbase_url = "http://127.0.0.1:{port}/"\n{extra}\n'


@dataclass
class Served:
    """A running serve: its URL, the project it serves, and the config it was built from."""

    base_url: str
    project: Path
    config: Config


@contextmanager
def run_app(
    config_path: Path,
    sock: socket.socket,
    *,
    make_transport: Callable[[Config], Transport] | None = None,
) -> Iterator[Served]:
    """Serve the app of ``config_path`` on ``sock`` until the block ends."""
    from digestmail.web import create_app

    config = load_config(config_path)
    kwargs = {} if make_transport is None else {"make_transport": make_transport}
    app = create_app(config, secret=SECRET, **kwargs)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield Served(config.web.base_url, config.project_dir, config)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
