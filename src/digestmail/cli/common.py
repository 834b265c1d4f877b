"""What every command shares: the loaded config, the clock, the options, errors to exit codes."""

from __future__ import annotations

import errno
import functools
import io
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

import click

from digestmail.config import Config, ListConfig, load_config
from digestmail.errors import ContentError, DigestmailError, ExitCode, UsageError

if TYPE_CHECKING:
    import asyncio

    from rich.console import Console

    from digestmail.cli.logs import EventLog
    from digestmail.content.reader import ContentResult
    from digestmail.models import Issue, Selection

    err_console: Console


P = ParamSpec("P")
R = TypeVar("R")


class _Program:
    """Whether this process is the ``digestmail`` program itself (its console script or
    ``python -m digestmail``), not a test running a command in its own process: only then may a
    command end the process at once (:func:`end_program`)."""

    entry = False


PROGRAM = _Program()


def end_program(code: int) -> NoReturn:
    """Exit with ``code``: at once once the output is flushed when this process is the program
    itself, else as ``sys.exit`` does.

    Tearing the interpreter down frees every object one by one, which after reading a site of
    1,600 posts was 3 % of ``digestmail posts``. Only a command that read files and printed,
    and holds nothing to close (no ledger, no temporary file, no thread), calls this.
    """
    if PROGRAM.entry:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


@functools.cache
def get_err_console() -> Console:
    """The console for people (stderr), made on first use: ``posts --format json`` that prints
    no error never imports rich, a good part of its start-up."""
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def __getattr__(name: str) -> Any:
    """``err_console``, the one :func:`get_err_console` makes, for ``from ... import``."""
    if name == "err_console":
        return get_err_console()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


_OS_HINTS = {
    errno.EACCES: "the user running digestmail may not use it; fix its permissions or the path",
    errno.EPERM: "the user running digestmail may not use it; fix its permissions or the path",
    errno.ENOTDIR: "a part of the path is a file, not a folder; fix the path",
    errno.EISDIR: "it is a folder where a file belongs; fix the path",
    errno.EROFS: "it is on a read-only file system; choose another path",
    errno.ENOSPC: "the disk is full; free some space",
    errno.EDQUOT: "the disk quota is used up; free some space",
    errno.ENAMETOOLONG: "the path is too long; choose a shorter one",
}


def describe_os_error(exc: OSError) -> str:
    """One line for people: the path, what the system said and what to do.

    ``exc.filename`` is the path the failed call was about (``filename2`` the second one of a
    rename), made absolute so a cron log says which one; an OSError without a path (rare here)
    still gets its reason, never a traceback.
    """
    reason = exc.strerror or (os.strerror(exc.errno) if exc.errno else "") or str(exc)
    paths = [
        str(Path(os.fsdecode(p)).absolute())
        for p in (exc.filename, exc.filename2)
        if isinstance(p, str | bytes | os.PathLike) and p
    ]
    where = " -> ".join(paths)
    hint = _OS_HINTS.get(exc.errno or 0, "")
    text = f"{where}: {reason}" if where else f"{type(exc).__name__}: {reason}"
    return f"{text} ({hint})" if hint else text


def os_error_exit_code(exc: OSError) -> ExitCode:
    """An unreachable server or a timeout is temporary (75, like :class:`TransportError`); any
    other OSError is a path to fix before running again (2, like a bad config value).

    The transports and the ledger turn their own OSErrors into :class:`TransportError` and
    :class:`LedgerError`, so what reaches this point is a file a command reads or writes
    itself: ``build --out``, the web archive. Only the archive comes after mail has left (it
    is written once an issue is finished); running again after fixing the path writes it.
    """
    if isinstance(exc, ConnectionError | TimeoutError):
        return ExitCode.TEMPFAIL
    return ExitCode.USAGE


def _print_error(text: str) -> None:
    from rich.markup import escape

    get_err_console().print(f"[bold red]error:[/] {escape(text)}", markup=True, soft_wrap=True)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`DigestmailError` or an :class:`OSError` into one clear line on stderr and
    its exit code: the people who read these need the path and what to do, not a traceback.

    OSError is mapped here, once, rather than in every command: any of them may meet an
    unwritable ``--out``, state directory or outbox.
    """

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DigestmailError as exc:
            _print_error(str(exc))  # paths and keys may hold "[...]": text, never markup
            sys.exit(exc.exit_code)
        except OSError as exc:
            _print_error(describe_os_error(exc))
            sys.exit(os_error_exit_code(exc))
        except KeyboardInterrupt:
            get_err_console().print("interrupted; run the same command again to resume")
            sys.exit(ExitCode.TEMPFAIL)

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


TABLE_OR_JSON = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people (stderr); json for scripts (stdout).",
)
LIST_OPTION = click.option(
    "--list", "list_key", required=True, metavar="LIST", help="The list's key in the config."
)


def config_of(ctx: click.Context) -> Config:
    state: State = ctx.find_object(State)  # type: ignore[assignment]
    return state.config


def log_of(ctx: click.Context) -> EventLog:
    from digestmail.cli.logs import EventLog

    state: State = ctx.find_object(State)  # type: ignore[assignment]
    if get_err_console().is_terminal and state.log_format == "text":
        return EventLog(fmt="text", stream=io.StringIO())  # people get tables, not log lines
    return EventLog(fmt=state.log_format)


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
        get_err_console().print(f"[bold red]error:[/] {error}", soft_wrap=True)


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
    selection = issues.select_issue(config, list_cfg, now=now, posts=content.posts, period=period)
    if not selection.posts:
        hint = "" if allow_empty else " (use --allow-empty to go ahead anyway)"
        message = (
            f"issue {selection.issue_id} has no tips: no post of {', '.join(list_cfg.categories)}"
            f" is published and dated {selection.period.key}{hint}"
        )
        if not allow_empty:
            raise UsageError(message)
        get_err_console().print(f"[yellow]warning:[/] {message}")
    return selection, render_issue(selection, config=config, list_cfg=list_cfg)


def run_async(coro_fn: Callable[[asyncio.Event], Awaitable[R]]) -> R:
    """The one ``asyncio.run`` of a command, with SIGINT/SIGTERM asking the work to stop."""
    import asyncio

    from digestmail.cli.signals import install_signal_handlers
    from digestmail.deliver.event_loop import run

    async def runner() -> R:
        stop = asyncio.Event()
        install_signal_handlers(stop)
        return await coro_fn(stop)

    return run(runner())
