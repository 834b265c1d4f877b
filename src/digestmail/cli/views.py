"""What people see of a send: the progress bar or log lines, and the closing summary.

Kept apart from the commands so each stays a page; everything here writes to the console
it is given (stderr), never to stdout, which belongs to machine output.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from digestmail.cli.logs import EventLog
from digestmail.deliver import DeliveryReport, Outcome, ProgressEvent


def message_parts(data: bytes) -> tuple[str, str]:
    """The HTML and text a recipient sees, decoded from the finished message itself."""
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    html_part = parsed.get_body(("html",))
    text_part = parsed.get_body(("plain",))
    html = html_part.get_content() if isinstance(html_part, EmailMessage) else ""
    text = text_part.get_content() if isinstance(text_part, EmailMessage) else ""
    return html, text


def print_report(err_console: Console, report: DeliveryReport) -> None:
    """The closing summary of a send, for people (stderr)."""
    title = "dry run — nothing was sent" if report.dry_run else f"issue {report.issue_id}"
    if report.test_copies:
        title = f"test copies of {report.issue_id}"
    err_console.print(f"[bold]{escape(title)}[/]")
    table = Table(show_header=False, box=None, padding=(0, 2))
    for outcome in Outcome:
        value = report.counts[outcome]
        if outcome is Outcome.SENT:
            table.add_row("would send" if report.dry_run else outcome.label, str(value))
        elif value:
            table.add_row(outcome.label, str(value))
    err_console.print(table)
    if len(report.relays) > 1:
        err_console.print(
            "  by relay: " + ", ".join(f"{escape(n)} {sent}" for n, sent in report.relays.items())
        )
    for note in report.relay_notes:
        err_console.print(f"  [yellow]{escape(note)}[/]", soft_wrap=True)
    for failure in report.failures:
        err_console.print(f"  [red]failed:[/] {escape(failure)}")
    for row in report.invalid_rows:
        err_console.print(f"  [yellow]invalid:[/] {escape(row)}")
    if report.counts[Outcome.INVALID] > len(report.invalid_rows):
        more = report.counts[Outcome.INVALID] - len(report.invalid_rows)
        err_console.print(f"  … and {more} more invalid rows: see `digestmail subscribers check`")
    if report.content_changed:
        err_console.print(
            "[yellow]note:[/] the posts would now render differently; the stored copy of the "
            "issue was sent so every subscriber gets the same content."
        )
    if report.archive_error:
        err_console.print(
            f"[yellow]the web archive was not written:[/] {escape(report.archive_error)}; "
            "fix that and run the same command again (nothing is sent twice)",
            soft_wrap=True,
        )
    if report.interrupted:
        err_console.print("interrupted: run the same command again to resume.")
    elif report.counts[Outcome.LEFT_TO_RETRY]:
        err_console.print("some deliveries failed temporarily: run the same command again later.")


class ProgressView:
    """A rich progress bar on a TTY, a plain log line every few seconds otherwise."""

    LOG_EVERY = 10.0

    def __init__(self, console: Console, log: EventLog) -> None:
        self.console = console
        self.log = log
        self.tty = console.is_terminal
        self.progress: Progress | None = None
        self.task: TaskID | None = None
        self.last_log = 0.0

    def __enter__(self) -> ProgressView:
        if self.tty:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: ProgressEvent) -> None:
        sent, failed = event.counts[Outcome.SENT], event.counts[Outcome.FAILED_PERMANENT]
        detail = f"sent {sent} · failed {failed} · {event.rate:.0f}/s"
        if event.waiting:
            detail += f" · retrying {event.waiting}"
        if self.progress is not None:
            if self.task is None:
                self.task = self.progress.add_task(event.issue_id, total=event.total, detail="")
            self.progress.update(self.task, completed=event.counts.processed, detail=detail)
            return
        if event.done or event.elapsed - self.last_log >= self.LOG_EVERY:
            self.last_log = event.elapsed
            self.log.info(
                "progress",
                issue=event.issue_id,
                sent=sent,
                failed=failed,
                retrying=event.waiting,
                skipped=event.counts.skipped,
                total=event.total if event.total is not None else "?",
            )


def log_report(log: EventLog, report: DeliveryReport) -> None:
    """The closing summary as log lines: every count, then one line per permanent failure."""
    level = "info" if report.exit_code == 0 else "warning"
    log.event(
        level,
        "test copies done" if report.test_copies else "done",
        issue=report.issue_id,
        **{outcome.value: report.counts[outcome] for outcome in Outcome},
        dry_run=report.dry_run,
        interrupted=report.interrupted,
        exit=report.exit_code,
    )
    if len(report.relays) > 1:
        log.info("by relay", issue=report.issue_id, relays=dict(report.relays))
    for note in report.relay_notes:
        log.warning("relay trouble", issue=report.issue_id, detail=note)
    for failure in report.failures:
        log.warning("failed permanently", issue=report.issue_id, detail=failure)
    for row in report.invalid_rows:
        log.warning("invalid row skipped", issue=report.issue_id, detail=row)
    if report.archive_error:
        log.warning("web archive not written", issue=report.issue_id, detail=report.archive_error)
    if report.content_changed:
        log.warning(
            "the posts would now render differently; the stored copy was sent",
            issue=report.issue_id,
        )
