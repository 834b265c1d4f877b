"""``digestmail send``: one issue to every subscriber of a list, exactly once each."""

from __future__ import annotations

import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import click

from digestmail.cli.common import (
    LIST_OPTION,
    NOW_OPTION,
    PERIOD_OPTION,
    config_of,
    err_console,
    handle_errors,
    log_of,
    make_issue,
    resolve_now,
    run_async,
)
from digestmail.errors import ExitCode


@click.command()
@LIST_OPTION
@PERIOD_OPTION
@NOW_OPTION
@click.option("--dry-run", is_flag=True, help="Show what would be sent; write nothing anywhere.")
@click.option(
    "--to",
    "test_addresses",
    multiple=True,
    metavar="ADDR",
    help="Send test copies to ADDR only (repeatable); recorded apart from the list.",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation on a terminal.")
@click.option("--allow-empty", is_flag=True, help="Send even when no post is selected.")
@click.pass_context
@handle_errors
def send(
    ctx: click.Context,
    list_key: str,
    period: str,
    now: str | None,
    dry_run: bool,
    test_addresses: tuple[str, ...],
    yes: bool,
    allow_empty: bool,
) -> None:
    """Send an issue to every subscriber of a list, exactly once each.

    Safe to run again at any time: subscribers who have the issue are skipped, an interrupted
    or partly failed send resumes where it stopped, and the content stored by the first send is
    used for everyone. Exit codes: 0 done; 1 some addresses failed permanently; 2 bad input
    (nothing sent); 75 run again to finish (temporary failures, interrupted, or another run
    holds the issue).
    """
    from digestmail.app import issues
    from digestmail.cli import views
    from digestmail.deliver import SendJob
    from digestmail.ledger import Ledger

    config = config_of(ctx)
    list_cfg = config.get_list(list_key)
    _, issue = make_issue(
        config, list_cfg, period=period, now=resolve_now(config, now), allow_empty=allow_empty
    )
    from digestmail.subscribers import count_rows, read_subscribers

    total = count_rows(list_cfg.subscribers)
    if total is None and not test_addresses:
        read_subscribers(list_cfg.subscribers)  # raises the file's own error, naming it
    target = (
        ", ".join(test_addresses)
        if test_addresses
        else f"the {total} rows of {list_cfg.subscribers.name}"
        if total is not None
        else f"the subscribers in {list_cfg.subscribers.name}"
    )
    transport = (
        f"Maildir {config.transport.maildir}"
        if config.transport.kind == "maildir"
        else "SMTP " + ", ".join(relay.name for relay in config.smtp.relay_list())
    )
    if not dry_run and not yes and sys.stdin.isatty():
        try:
            go = click.confirm(
                f'Send {issue.id} "{issue.subject}" to {target} via {transport}?', err=True
            )
        except click.Abort:
            go = False
        if not go:
            err_console.print("nothing was sent")
            sys.exit(ExitCode.USAGE)
    log = log_of(ctx)
    log.info("send", issue=issue.id, to=target, transport=transport, dry_run=dry_run)
    with ExitStack() as stack:
        ledger_path = config.state.path
        if dry_run and not ledger_path.exists():
            # A dry run writes nothing anywhere: an empty throw-away ledger stands in.
            ledger_path = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "dry.sqlite"
        ledger = stack.enter_context(Ledger.open(ledger_path))
        view = stack.enter_context(views.ProgressView(err_console, log))
        report = run_async(
            lambda stop: issues.send_issue_to_list(
                SendJob(
                    config,
                    list_cfg,
                    issue,
                    ledger,
                    dry_run=dry_run,
                    test_addresses=test_addresses,
                    on_progress=view,
                    stop=stop,
                    total=total,
                )
            )
        )
    if err_console.is_terminal:
        views.print_report(err_console, report)
    views.log_report(log, report)
    sys.exit(report.exit_code)
