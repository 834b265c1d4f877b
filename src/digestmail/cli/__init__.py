"""The ``digestmail`` command line.

Thin on purpose: parse options, call the pipeline, print for people on stderr and for machines on
stdout, and map errors to the exit codes of the contract (0 done, 1 permanent failures, 2 bad
input and nothing sent, 75 temporary: run again to resume).
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import click
from click.core import ParameterSource
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from digestmail import __version__
from digestmail.cli import listing
from digestmail.cli.logs import EventLog
from digestmail.config import Config, ListConfig, load_config
from digestmail.errors import ContentError, DigestmailError, UsageError
from digestmail.models import DeliveryStatus, Issue, Recipient, Selection

if TYPE_CHECKING:
    import asyncio

    from digestmail.content.reader import ContentResult

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TEMPFAIL = 75

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True, highlight=False)


class State:
    """What the group hands to every command: where the config is, loaded on first use."""

    def __init__(self, config_path: str | None, log_format: str = "text") -> None:
        self.config_path = config_path
        self.log_format = log_format
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`DigestmailError` into one clear line on stderr and its exit code."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DigestmailError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", markup=True, soft_wrap=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            err_console.print("interrupted; run the same command again to resume")
            sys.exit(EXIT_TEMPFAIL)

    return wrapper


def parse_now(value: str | None) -> datetime | None:
    """``--now``: an ISO 8601 datetime standing in for the current time."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date-time (for example 2017-12-01T08:00)",
            param_hint="--now",
        ) from None


NOW_OPTION = click.option(
    "--now",
    metavar="ISO-DATETIME",
    help="Pretend it is this moment (ISO 8601; without offset the site's time zone). "
    "Fixes 'previous'/'current' and the cut-off for drafts, future and expired posts.",
)
PERIOD_OPTION = click.option(
    "--period",
    metavar="PERIOD",
    default="previous",
    show_default=True,
    help="2017-11 (month), 2017-W45 (ISO week), 2017-11-01..2017-11-30 (dates, inclusive), "
    "'previous' (last complete period of the list's cadence) or 'current'.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    type=click.Path(dir_okay=False, path_type=str),
    help="Config file. Default: $DIGESTMAIL_CONFIG, then ./config/digestmail.toml.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines when not on a terminal: plain text, or one JSON object a line.",
)
@click.version_option(__version__, prog_name="digestmail")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, log_format: str) -> None:
    """Turn a Hugo site's posts into an email digest and send it to subscriber lists.

    \b
    Typical month:
      digestmail posts --list monthly          what is in the digest, and why the rest is not
      digestmail build --list monthly          write out/<issue>.html to check in a browser
      digestmail send --list monthly           send it (asks first; --yes for scripts)

    Exit codes: 0 done; 1 some deliveries failed permanently; 2 bad usage, config, content or
    subscriber file (nothing was sent); 75 temporary: run the same command again to resume.
    """
    ctx.obj = State(config_path, log_format)


def config_of(ctx: click.Context) -> Config:
    state: State = ctx.find_object(State)  # type: ignore[assignment]
    return state.config


def resolve_now(config: Config, now: str | None) -> datetime:
    """The moment the command acts at: ``--now`` (naive = site time zone) or the clock."""
    moment = parse_now(now)
    tz = config.site.timezone
    if moment is None:
        return datetime.now(tz)
    if not 1900 <= moment.year <= 9000:
        raise click.BadParameter(f"{now!r} is outside the years 1900-9000", param_hint="--now")
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment.astimezone(tz)


def report_content_errors(errors: tuple[DigestmailError, ...]) -> None:
    for error in errors:
        err_console.print(f"[bold red]error:[/] {error}", soft_wrap=True)


@main.command()
@click.option(
    "--list", "list_key", metavar="LIST", help="Show whether each post is in LIST's issue."
)
@PERIOD_OPTION
@NOW_OPTION
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="table for people (stderr); json or csv for scripts (stdout).",
)
@click.pass_context
@handle_errors
def posts(ctx: click.Context, list_key: str | None, period: str, now: str | None, fmt: str) -> None:
    """List every post as Hugo reads it, and why each one is in or out of an issue.

    With --list, each post is marked as selected or carries the reason it is left out:
    draft, future, expired, period, category, incomplete (no date or title) or sent (already
    in an earlier issue). A post that cannot be read is reported with its file and line, and
    the command exits 2 after listing the others.
    """
    from digestmail.app import issues

    if list_key is None and ctx.get_parameter_source("period") is ParameterSource.COMMANDLINE:
        raise UsageError("--period chooses a list's issue: give --list too")
    config = config_of(ctx)
    moment = resolve_now(config, now)
    result = issues.load_content(config)
    selection = None
    if list_key is not None:
        list_cfg = config.get_list(list_key)
        selection = issues.select_issue(
            config, list_cfg, period_text=period, now=moment, posts=result.posts
        )
    rows = listing.post_rows(result.posts, selection, now=moment)
    if fmt == "json":
        click.echo(listing.to_json(rows))
    elif fmt == "csv":
        click.echo(listing.to_csv(rows), nl=False)
    else:
        title = f"{len(rows)} posts in {config.site.content_dir}"
        if selection is not None:
            title += (
                f" — issue {selection.issue_id}: {len(selection.posts)} selected"
                f" (cut-off {selection.cutoff:%Y-%m-%d %H:%M %Z})"
            )
        err_console.print(listing.to_table(rows, title=title))
    if result.errors:
        report_content_errors(result.errors)
        sys.exit(EXIT_USAGE)


def require_clean_content(result: ContentResult) -> None:
    """Refuse to build or send while a post is broken: a silently missing tip is a lost tip."""
    if result.errors:
        report_content_errors(result.errors)
        raise ContentError(
            f"{len(result.errors)} post(s) cannot be read; fix them and run again",
            path=result.errors[0].path,
        )


def make_issue(
    config: Config, list_cfg: ListConfig, *, period: str, now: datetime, allow_empty: bool
) -> tuple[Selection, Issue]:
    from digestmail.app import issues
    from digestmail.render.theme import render_issue

    content = issues.load_content(config)
    require_clean_content(content)
    selection = issues.select_issue(
        config, list_cfg, now=now, posts=content.posts, period_text=period
    )
    if not selection.posts:
        hint = "" if allow_empty else " (use --allow-empty to go ahead anyway)"
        message = (
            f"issue {selection.issue_id} has no tips: no post of {', '.join(list_cfg.categories)}"
            f" is published and dated {selection.period.key}{hint}"
        )
        if not allow_empty:
            raise UsageError(message)
        err_console.print(f"[yellow]warning:[/] {message}")
    return selection, render_issue(selection, config=config, list_cfg=list_cfg)


LIST_OPTION = click.option(
    "--list", "list_key", required=True, metavar="LIST", help="The list's key in the config."
)


@main.command()
@LIST_OPTION
@PERIOD_OPTION
@NOW_OPTION
@click.option(
    "--out",
    "out_dir",
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the files. Default: out/ in the project directory.",
)
@click.option("--allow-empty", is_flag=True, help="Build even when no post is selected.")
@click.pass_context
@handle_errors
def build(
    ctx: click.Context,
    list_key: str,
    period: str,
    now: str | None,
    out_dir: Path | None,
    allow_empty: bool,
) -> None:
    """Build an issue without sending it, to check it in a browser and a mail client.

    Writes DIR/<issue>.html (open it in a browser), DIR/<issue>.txt (the plain-text part) and
    DIR/<issue>.eml (the complete message for the list's first subscriber; open it in a mail
    client), and prints a summary. Nothing is recorded: build as often as you like.
    """
    from digestmail.cli import views
    from digestmail.message.factory import MessageFactory, secret_from_env
    from digestmail.render.theme import GMAIL_CLIP_BYTES
    from digestmail.subscribers.reader import read_subscribers

    config = config_of(ctx)
    list_cfg = config.get_list(list_key)
    selection, issue = make_issue(
        config, list_cfg, period=period, now=resolve_now(config, now), allow_empty=allow_empty
    )
    sample = next(
        (r for r in read_subscribers(list_cfg.subscribers) if isinstance(r, Recipient)),
        Recipient(email="leserin@example.org", name="Erika Mustermann"),
    )
    factory = MessageFactory(issue, config=config, list_cfg=list_cfg, secret=secret_from_env())
    message = factory.build(sample)
    out = out_dir if out_dir is not None else config.project_dir / "out"
    out.mkdir(parents=True, exist_ok=True)
    html_path, text_path, eml_path = (out / f"{issue.id}.{ext}" for ext in ("html", "txt", "eml"))
    html, text = views.message_parts(message.data)
    # The wire's CRLF is for the .eml; the previews get the line ends of the machine.
    html_path.write_text(html.replace("\r\n", "\n"), encoding="utf-8")
    text_path.write_text(text.replace("\r\n", "\n"), encoding="utf-8")
    eml_path.write_bytes(message.data)

    html_size = len(html.encode("utf-8"))
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_row("issue", issue.id)
    table.add_row("subject", escape(issue.subject))
    table.add_row("tips", str(len(selection.posts)))
    table.add_row("html", f"{html_size / 1024:.1f} KB  {html_path}")
    table.add_row("text", f"{len(text.encode('utf-8')) / 1024:.1f} KB  {text_path}")
    table.add_row("message", f"{len(message.data) / 1024:.1f} KB  {eml_path} (to {sample.email})")
    err_console.print(table)
    if html_size > GMAIL_CLIP_BYTES:
        err_console.print(
            f"[yellow]warning:[/] the HTML is {html_size / 1024:.0f} KB; Gmail clips messages "
            f"over {GMAIL_CLIP_BYTES / 1024:.0f} KB. Fewer tips or shorter summaries help."
        )


def run_async(coro_fn: Callable[[asyncio.Event], Awaitable[R]]) -> R:
    """The one ``asyncio.run`` of a command, with SIGINT/SIGTERM asking the work to stop."""
    import asyncio

    from digestmail.deliver.send import install_signal_handlers

    async def runner() -> R:
        stop = asyncio.Event()
        install_signal_handlers(stop)
        return await coro_fn(stop)

    return asyncio.run(runner())


@main.command()
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
    from digestmail.ledger.store import Ledger

    config = config_of(ctx)
    list_cfg = config.get_list(list_key)
    _, issue = make_issue(
        config, list_cfg, period=period, now=resolve_now(config, now), allow_empty=allow_empty
    )
    from digestmail.subscribers.reader import count_rows, read_subscribers

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
        else f"SMTP {config.smtp.host}:{config.smtp.port}"
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
            sys.exit(EXIT_USAGE)
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
                config,
                list_cfg,
                issue=issue,
                ledger=ledger,
                dry_run=dry_run,
                test_addresses=test_addresses,
                on_progress=view,
                stop=stop,
                total=total,
            )
        )
    if err_console.is_terminal:
        views.print_report(err_console, report)
    views.log_report(log, report)
    sys.exit(report.exit_code)


def log_of(ctx: click.Context) -> EventLog:
    state: State = ctx.find_object(State)  # type: ignore[assignment]
    if err_console.is_terminal and state.log_format == "text":
        return EventLog(fmt="text", stream=io.StringIO())  # people get tables, not log lines
    return EventLog(fmt=state.log_format)


@main.command()
@click.option("--list", "list_key", metavar="LIST", help="Only this list's issues.")
@click.option(
    "--period", metavar="PERIOD", help="Only the issues of this period (2017-11, previous, ...)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people (stderr); json for scripts (stdout).",
)
@click.pass_context
@handle_errors
def status(ctx: click.Context, list_key: str | None, period: str | None, fmt: str) -> None:
    """Show every issue in the ledger with its delivery counts.

    --period takes the same forms as elsewhere (2017-11, 2017-W45, previous, ...).
    """
    from digestmail.ledger.store import Ledger
    from digestmail.selection.periods import parse_period

    config = config_of(ctx)
    if list_key is not None:
        config.get_list(list_key)
    if not config.state.path.exists():
        summaries = []
    else:
        with Ledger.open(config.state.path) as ledger:
            summaries = ledger.issues(list_key)
    if period is not None:
        moment = datetime.now(config.site.timezone)

        def key_for(list_name: str) -> str:
            """The key in that list's cadence: ``previous`` is a week for a weekly list."""
            cadence = config.lists[list_name].cadence if list_name in config.lists else "month"
            return parse_period(period, cadence=cadence, now=moment, tz=config.site.timezone).key

        key_for(
            list_key or next(iter(config.lists), "")
        )  # a bad value is an error even with no rows
        summaries = [s for s in summaries if s.period == key_for(s.list_key)]
    if fmt == "json":
        rows = [
            {
                "id": s.id,
                "list": s.list_key,
                "period": s.period,
                "subject": s.subject,
                "status": s.status,
                "created_at": s.created_at.isoformat(),
                "finished_at": s.finished_at.isoformat() if s.finished_at else None,
                "skip_reason": s.skip_reason or None,
                "counts": {k.value: v for k, v in s.counts.items()},
            }
            for s in summaries
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"issues in {config.state.path}", title_justify="left")
    # Ids and times never wrap: piped into a log (80 columns) they must stay greppable.
    table.add_column("issue", no_wrap=True)
    table.add_column("status")
    for column in ("sent", "failed", "retry", "suppressed"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("finished", no_wrap=True)
    for s in summaries:
        c = s.counts
        table.add_row(
            s.id,
            s.status + (f" ({escape(s.skip_reason)})" if s.skip_reason else ""),
            str(c.get(DeliveryStatus.SENT, 0)),
            str(c.get(DeliveryStatus.FAILED_PERMANENT, 0)),
            str(c.get(DeliveryStatus.FAILED_TEMPORARY, 0) + c.get(DeliveryStatus.QUEUED, 0)),
            str(c.get(DeliveryStatus.SUPPRESSED, 0)),
            f"{s.finished_at.astimezone(config.site.timezone):%Y-%m-%d %H:%M %Z}"
            if s.finished_at
            else "",
        )
    # Off a terminal rich would squeeze the table into 80 columns; a log or a pager has room.
    out = (
        err_console if err_console.is_terminal else Console(stderr=True, highlight=False, width=200)
    )
    filtered = list_key is not None or period is not None
    out.print(table if summaries else "no issue matches" if filtered else "no issues sent yet")


@main.command()
@click.argument("address")
@click.option("--list", "list_key", metavar="LIST", help="Only this list (default: all lists).")
@click.option("--reason", default="unsubscribed", show_default=True, help="Kept in the ledger.")
@click.pass_context
@handle_errors
def unsubscribe(ctx: click.Context, address: str, list_key: str | None, reason: str) -> None:
    """Stop sending to ADDRESS: every later send skips it, even if it stays in the CSV."""
    from digestmail.addresses import normalise_address
    from digestmail.ledger.store import Ledger

    config = config_of(ctx)
    if list_key is not None:
        config.get_list(list_key)
    email = normalise_address(address)
    with Ledger.open(config.state.path) as ledger:
        ledger.suppress(email, list_key=list_key, reason=reason)
    scope = f"list {list_key}" if list_key else "all lists"
    err_console.print(f"{escape(email)} will get nothing more from {scope}.")


@main.group()
def subscribers() -> None:
    """Inspect subscriber files."""


@subscribers.command("check")
@LIST_OPTION
@click.pass_context
@handle_errors
def subscribers_check(ctx: click.Context, list_key: str) -> None:
    """Report invalid, duplicate and suppressed rows of a list's subscriber file.

    Exits 2 when a row is invalid or duplicated (those rows would be skipped by a send), or
    when not one row has an address (a send refuses such a file).
    """
    from digestmail.ledger.store import Ledger
    from digestmail.subscribers.reader import check_subscribers

    config = config_of(ctx)
    list_cfg = config.get_list(list_key)
    with ExitStack() as stack:
        suppressed = None
        if config.state.path.exists():
            ledger = stack.enter_context(Ledger.open(config.state.path))

            def suppressed(emails: Sequence[str]) -> set[str]:
                return ledger.suppressed(emails, list_key=list_key)

        report = check_subscribers(list_cfg.subscribers, suppressed=suppressed)
    for problem in report.problems:
        colour = "yellow" if problem.kind == "suppressed" else "red"
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
        sys.exit(EXIT_USAGE)


@main.command()
@NOW_OPTION
@click.pass_context
def check(ctx: click.Context, now: str | None) -> None:
    """Check config, templates, every post and every subscriber file; report all problems."""
    from digestmail.app.check import run_checks

    state: State = ctx.find_object(State)  # type: ignore[assignment]
    moment = parse_now(now)
    report = run_checks(state.config_path, now=moment)
    for problem in report.problems:
        colour = "red" if problem in report.errors else "yellow"
        err_console.print(f"[{colour}]{escape(str(problem))}[/]", soft_wrap=True)
    for item in report.checked:
        err_console.print(f"checked {escape(item)}")
    verdict = "ok" if report.ok else f"{len(report.errors)} problem(s) to fix"
    err_console.print(verdict)
    sys.exit(report.exit_code)


@main.command("run-due")
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
    from digestmail.ledger.store import Ledger

    config = config_of(ctx)
    moment = resolve_now(config, now)
    log = log_of(ctx)

    people = err_console.is_terminal  # off a TTY only log lines, which rundue writes

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
            return
        outcomes = run_async(
            lambda stop: due_runs.run_due(
                config,
                due,
                ledger=ledger,
                now=moment,
                dry_run=dry_run,
                log=log,
                progress=lambda: views.ProgressView(err_console, log),
                on_outcome=show,
                stop=stop,
            )
        )
    sys.exit(due_runs.worst([o.code for o in outcomes]))


if __name__ == "__main__":  # pragma: no cover
    main()
