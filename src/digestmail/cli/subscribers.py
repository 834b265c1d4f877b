"""``digestmail unsubscribe`` and ``digestmail subscribers``: who gets the digest."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from contextlib import ExitStack

import click
from rich.markup import escape

from digestmail.cli.common import LIST_OPTION, config_of, err_console, handle_errors
from digestmail.errors import ExitCode
from digestmail.models import ProblemKind


@click.command()
@click.argument("address")
@click.option("--list", "list_key", metavar="LIST", help="Only this list (default: all lists).")
@click.option("--reason", default="unsubscribed", show_default=True, help="Kept in the ledger.")
@click.pass_context
@handle_errors
def unsubscribe(ctx: click.Context, address: str, list_key: str | None, reason: str) -> None:
    """Stop sending to ADDRESS: every later send skips it, even if it stays in the CSV."""
    from digestmail.addresses import normalise_address
    from digestmail.ledger import Ledger

    config = config_of(ctx)
    if list_key is not None:
        config.get_list(list_key)
    email = normalise_address(address)
    with Ledger.open(config.state.path) as ledger:
        ledger.suppress(email, list_key=list_key, reason=reason)
    scope = f"list {list_key}" if list_key else "all lists"
    err_console.print(f"{escape(email)} will get nothing more from {scope}.")


@click.group()
def subscribers() -> None:
    """Inspect subscriber files."""


@subscribers.command("check")
@LIST_OPTION
@click.pass_context
@handle_errors
def subscribers_check(ctx: click.Context, list_key: str) -> None:
    """Report invalid, duplicate and suppressed rows of a list's subscriber file.

    Exits 2 when a row is invalid or duplicated (those rows would be skipped by a send), or
    when not one row has an address and the list has no confirmed web sign-up (a send
    refuses such a list).
    """
    from digestmail.app.audience import has_signups
    from digestmail.ledger import Ledger
    from digestmail.subscribers import check_subscribers

    config = config_of(ctx)
    list_cfg = config.get_list(list_key)
    with ExitStack() as stack:
        suppressed, signed_up = None, False
        if config.state.path.exists():
            ledger = stack.enter_context(Ledger.open(config.state.path))
            signed_up = has_signups(ledger, list_key)

            def suppressed(emails: Sequence[str]) -> set[str]:
                return ledger.suppressed(emails, list_key=list_key)

        report = check_subscribers(list_cfg.subscribers, suppressed=suppressed, signed_up=signed_up)
    for problem in report.problems:
        colour = "yellow" if problem.kind is ProblemKind.SUPPRESSED else "red"
        err_console.print(
            f"[{colour}]{problem.kind}:[/] {escape(str(list_cfg.subscribers))}:{problem.line}: "
            f"{escape(problem.email)}: {escape(problem.reason)}",
            soft_wrap=True,
        )
    err_console.print(
        f"{report.rows} rows: {report.valid} to mail, {report.invalid} invalid, "
        f"{report.duplicates} duplicate, {report.suppressed} suppressed"
    )
    if report.empty:
        err_console.print(
            f"[red]error:[/] {escape(str(list_cfg.subscribers))}: no address to mail; "
            "a send refuses this file",
            soft_wrap=True,
        )
    if not report.ok:
        sys.exit(ExitCode.USAGE)


EXPORT_COLUMNS = ("email", "name", "source", "confirmed")


@subscribers.command("export")
@LIST_OPTION
@click.pass_context
@handle_errors
def subscribers_export(ctx: click.Context, list_key: str) -> None:
    """Write the list as a send would mail it now, as CSV on stdout (UTF-8).

    The subscriber file's valid rows plus confirmed web sign-ups, each address once, without
    suppressed addresses. Columns: email, name, source (csv or web), confirmed (when a web
    sign-up was confirmed). Cells that a spreadsheet would run as a formula start with '.
    """
    import csv
    import io

    from digestmail.app.audience import effective_members
    from digestmail.cli.listing import spreadsheet_safe
    from digestmail.ledger import Ledger

    config = config_of(ctx)
    list_cfg = config.get_list(list_key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    with Ledger.open(config.state.path) as ledger:
        # Written out every few thousand rows: a million-row list never sits in memory.
        for n, member in enumerate(effective_members(list_cfg, ledger), 1):
            row = (member.email, member.name, member.source, member.confirmed)
            writer.writerow([spreadsheet_safe(cell) for cell in row])
            if n % 5_000 == 0:
                click.echo(buffer.getvalue(), nl=False)
                buffer.seek(0)
                buffer.truncate()
    click.echo(buffer.getvalue(), nl=False)
