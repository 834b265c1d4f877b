"""``digestmail inbox``: read the bounce mailbox once; bounces and unsubscribe replies become
suppressions. ``run-due`` calls :func:`process_inbox` before it sends anything."""

from __future__ import annotations

import sys

import click

from digestmail.cli.common import config_of, err_console, handle_errors, run_async
from digestmail.config import Config
from digestmail.errors import ConfigError, ExitCode

_LABELS = {
    "hard": "hard bounces (suppressed)",
    "soft": "soft bounces (counted)",
    "unsubscribe": "unsubscribe replies (suppressed, confirmed)",
    "not a subscriber": "unsubscribe requests from addresses on no list (nothing done)",
    "refused for content": "refused for policy or size (left in place: the address is fine)",
    "autoreply": "auto-replies (left in place)",
    "ignored": "other mail (left in place)",
    "unmatched bounce": "bounces for no delivery of ours (left in place)",
    "already seen": "already handled in an earlier run",
    "malformed": "malformed (left in place for a person)",
}


def process_inbox(config: Config, *, dry_run: bool) -> ExitCode:
    """One pass over the mailbox, reported on stderr; the exit code of the pass."""
    from digestmail.app.inbox.process import InboxRun
    from digestmail.ledger import Ledger

    with Ledger.open(config.state.path) as ledger:
        report = run_async(lambda stop: InboxRun(config, ledger, dry_run=dry_run).run())
    head = "inbox (dry run, nothing changed)" if dry_run else "inbox"
    total = sum(report.outcomes.values())
    err_console.print(f"{head}: {total} message(s)", markup=False)
    for outcome, n in sorted(report.outcomes.items()):
        err_console.print(f"  {n:6d}  {_LABELS.get(outcome, outcome)}", markup=False)
    for source, n in sorted(report.suppressed.items()):
        err_console.print(f"  suppressed ({source}): {n}", markup=False)
    for label in report.malformed:
        err_console.print(f"  malformed, see the mailbox: {label}", markup=False)
    return ExitCode.OK


@click.command("inbox")
@click.option("--dry-run", is_flag=True, help="Sort and report; suppress, move and send nothing.")
@click.pass_context
@handle_errors
def inbox(ctx: click.Context, dry_run: bool) -> None:
    """Read the bounce mailbox ([inbox]): bounces and unsubscribe replies -> suppressions.

    Exit codes: 0 processed; 2 bad config (no [inbox], a refused login); 75 the mailbox could
    not be reached (run again later).
    """
    config = config_of(ctx)
    if config.inbox is None:
        raise ConfigError("has no [inbox] section; add one to read bounces", path=config.path)
    sys.exit(process_inbox(config, dry_run=dry_run))
