"""``digestmail suppressions``: every address that gets no more mail, and who said so."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from digestmail.cli.common import TABLE_OR_JSON, config_of, err_console, handle_errors


@click.command()
@click.option("--list", "list_key", metavar="LIST", help="Only those that apply to this list.")
@TABLE_OR_JSON
@click.pass_context
@handle_errors
def suppressions(ctx: click.Context, list_key: str | None, fmt: str) -> None:
    """List suppressions: email, list (empty/null = all lists), reason, source, created.

    Sources: cli (digestmail unsubscribe), web (serve's one-click link), bounce, reply,
    smtp (the relay said "user unknown" during a send).
    """
    from digestmail.ledger import Ledger

    config = config_of(ctx)
    if list_key is not None:
        config.get_list(list_key)
    rows = []
    if config.state.path.exists():
        with Ledger.open(config.state.path) as ledger:
            rows = ledger.suppressions(list_key)
    if fmt == "json":
        data = [
            {
                "email": s.email,
                "list": s.list_key,
                "reason": s.reason,
                "source": s.source,
                "created": s.created_at.isoformat(),
            }
            for s in rows
        ]
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"suppressions in {config.state.path}", title_justify="left")
    for column in ("email", "list", "reason", "source", "created"):
        table.add_column(column, no_wrap=column != "reason")
    for s in rows:
        table.add_row(
            escape(s.email),
            escape(s.list_key or "(all)"),
            escape(s.reason),
            s.source,
            f"{s.created_at.astimezone(config.site.timezone):%Y-%m-%d %H:%M %Z}",
        )
    out = (
        err_console if err_console.is_terminal else Console(stderr=True, highlight=False, width=200)
    )
    out.print(table if rows else "no suppressions")
