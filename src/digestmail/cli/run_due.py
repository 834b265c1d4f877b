"""``digestmail run-due``: every issue whose schedule has come, for cron or a systemd timer."""

from __future__ import annotations

import sys
from contextlib import ExitStack

import click
from rich.markup import escape

from digestmail.cli.common import (
    NOW_OPTION,
    config_of,
    err_console,
    handle_errors,
    log_of,
    report_content_errors,
    resolve_now,
    run_async,
)
from digestmail.cli.logs import EventLog
from digestmail.config import Config
from digestmail.errors import DigestmailError, ExitCode


@click.command("run-due")
@NOW_OPTION
@click.option("--dry-run", is_flag=True, help="Show which issues are due; send and write nothing.")
@click.option(
    "--include-old",
    is_flag=True,
    help="Also send issues older than the list's catch_up window (after a long downtime).",
)
@click.pass_context
@handle_errors
def run_due(ctx: click.Context, now: str | None, dry_run: bool, include_old: bool) -> None:
    """Send every issue whose scheduled time has come; meant for cron or a systemd timer.

    Safe to run every hour: finished issues are never sent again, an empty period is recorded
    as skipped, missed runs are caught up (within each list's catch_up), and an issue another
    run is sending is left to it (exit 75) while the other due issues are handled. The exit code
    is the worst of the issues' codes.
    """
    from digestmail.app import run_due as due_runs
    from digestmail.cli import views
    from digestmail.ledger import Ledger

    config = config_of(ctx)
    moment = resolve_now(config, now)
    log = log_of(ctx)

    people = err_console.is_terminal  # off a TTY only log lines, which rundue writes
    inbox_code = _inbox_first(config, dry_run=dry_run, log=log)

    def show(outcome: due_runs.Outcome) -> None:
        if outcome.content is not None:
            if people:
                report_content_errors(outcome.content.errors)
            for error in outcome.content.errors:
                log.error("post cannot be read", issue=outcome.issue_id, detail=str(error))
        if outcome.report is not None:
            if people:
                views.print_report(err_console, outcome.report)
            views.log_report(log, outcome.report)
        elif people:
            err_console.print(f"{outcome.issue_id}: {escape(outcome.note)}")

    with ExitStack() as stack:
        ledger = None
        if not (dry_run and not config.state.path.exists()):
            ledger = stack.enter_context(Ledger.open(config.state.path))
        due = due_runs.find_due(config, ledger=ledger, now=moment, include_old=include_old)
        if not due:
            log.info("nothing is due", now=moment.isoformat())
            if people:
                err_console.print("nothing is due")
            sys.exit(inbox_code)
        outcomes = run_async(
            lambda stop: due_runs.run_due(
                due_runs.DueRun(
                    config,
                    ledger,
                    now=moment,
                    dry_run=dry_run,
                    log=log,
                    progress=lambda: views.ProgressView(err_console, log),
                    on_outcome=show,
                    stop=stop,
                ),
                due,
            )
        )
    sys.exit(ExitCode.worst([inbox_code, *[o.code for o in outcomes]]))


def _inbox_first(config: Config, *, dry_run: bool, log: EventLog) -> ExitCode:
    """With ``[inbox]``: read the bounces first, so an address that bounced is not mailed.

    A mailbox that cannot be read does not stop the send (the next run reads it): its exit
    code is kept, and the run's code is the worse of the two.
    """
    if config.inbox is None:
        return ExitCode.OK
    from digestmail.cli.inbox import process_inbox

    try:
        return process_inbox(config, dry_run=dry_run)
    except DigestmailError as exc:
        log.error("inbox not read", detail=str(exc))
        err_console.print(f"inbox not read: {exc}", markup=False)
        return exc.exit_code
