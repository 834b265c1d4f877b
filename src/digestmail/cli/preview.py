"""``digestmail preview``: the issue ``send`` would send now, live in a browser, for editors.

The command builds the app (:mod:`digestmail.web.preview`), prints its URL and hands it to
uvicorn on 127.0.0.1 only. It hands in :func:`digestmail.cli.listing.post_rows` for the "why is
each post in or out" table, the same rows ``posts --list`` prints.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import click

from digestmail.cli.common import (
    NOW_OPTION,
    PERIOD_OPTION,
    State,
    err_console,
    handle_errors,
    parse_now,
)
from digestmail.config import find_config

HOST = "127.0.0.1"


@click.command()
@click.option("--list", "list_key", metavar="LIST", help="The list. Default: the only one.")
@PERIOD_OPTION
@NOW_OPTION
@click.option("--port", metavar="P", type=click.IntRange(0, 65535), default=8026, show_default=True)
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the browser.")
@click.pass_context
@handle_errors
def preview(
    ctx: click.Context,
    list_key: str | None,
    period: str,
    now: str | None,
    port: int,
    open_browser: bool,
) -> None:
    """Show the issue send would send now in the browser, and update it on every save.

    The page shows the email (phone, tablet, desktop; dark mode), its plain text, headers and
    size, why each post is in or out, and what check finds. It never sends to the list and
    never records a delivery; its test-copy form mails only preview.test_addresses.
    """
    import uvicorn

    from digestmail.cli.listing import post_rows
    from digestmail.web.preview import PreviewSettings, create_preview_app

    state: State = ctx.find_object(State)  # type: ignore[assignment]
    config = state.config  # a config that cannot be read stops here, as for every command
    if list_key is None:
        if len(config.lists) != 1:
            raise click.UsageError(f"give --list (lists: {', '.join(sorted(config.lists))})")
        list_key = next(iter(config.lists))
    config.get_list(list_key)
    settings = PreviewSettings(
        config_path=Path(find_config(state.config_path)).resolve(),
        list_key=list_key,
        period=period,
        now=parse_now(now),
        rows=post_rows,
    )
    app = create_preview_app(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=HOST, port=port, access_log=False, log_level="warning", server_header=False
        )
    )
    _announce(server, open_browser)
    server.run()


def _announce(server: object, open_browser: bool) -> None:
    """Print the URL once the socket is bound (``--port 0`` picks a free one)."""
    import uvicorn

    assert isinstance(server, uvicorn.Server)
    original = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original(sockets=sockets)
        port = server.servers[0].sockets[0].getsockname()[1] if server.servers else 0
        url = f"http://{HOST}:{port}/"
        err_console.print(f"preview at {url} (Ctrl-C to stop)")
        click.echo(url)
        if open_browser:
            import webbrowser

            webbrowser.open(url)

    server.startup = startup  # type: ignore[method-assign]
