"""``digestmail serve``: one-click unsubscribe and double opt-in sign-up, over HTTP.

The command only reads the config and the secret, builds the app (:mod:`digestmail.web`) and
hands it to uvicorn. uvicorn's own access log is off: it would write each URL with its token in
clear; the app logs one line per request itself, tokens and addresses hashed.
"""

from __future__ import annotations

import logging

import click

from digestmail.cli.common import config_of, err_console, handle_errors


@click.command()
@click.option("--host", metavar="H", help="Address to listen on. Default: from web.listen.")
@click.option(
    "--port", metavar="P", type=click.IntRange(0, 65535), help="Port. Default: from web.listen."
)
@click.pass_context
@handle_errors
def serve(ctx: click.Context, host: str | None, port: int | None) -> None:
    """Answer unsubscribe links and sign-ups at web.base_url (run it behind nginx or Caddy).

    Needs [web] base_url in the config and $DIGESTMAIL_SECRET (the same secret the sends use).
    Health check: GET {base_url}healthz.
    """
    import uvicorn

    from digestmail.message.unsubscribe import secret_from_env
    from digestmail.web import create_app

    config = config_of(ctx)
    app = create_app(config, secret=secret_from_env())
    default_host, default_port = config.web.listen_address()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    where = f"{host or default_host}:{default_port if port is None else port}"
    err_console.print(f"serving {config.web.base_url} on {where}")
    uvicorn.run(
        app,
        host=host or default_host,
        port=default_port if port is None else port,
        access_log=False,
        log_level="info",
        proxy_headers=False,
        server_header=False,
    )
