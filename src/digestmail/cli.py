"""The ``digestmail`` command line.

Thin on purpose: parse options, call the pipeline, print for people on stderr and for machines on
stdout, and map errors to the exit codes of the contract (0 done, 1 permanent failures, 2 bad
input and nothing sent, 75 temporary: run again to resume).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import ParamSpec, TypeVar

import click
from rich.console import Console

from digestmail import __version__, listing
from digestmail.config import Config, load_config
from digestmail.errors import DigestmailError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TEMPFAIL = 75

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True, highlight=False)


class State:
    """What the group hands to every command: where the config is, loaded on first use."""

    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path
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
@click.version_option(__version__, prog_name="digestmail")
@click.pass_context
def main(ctx: click.Context, config_path: str | None) -> None:
    """Turn a Hugo site's posts into an email digest and send it to subscriber lists.

    \b
    Typical month:
      digestmail posts --list monthly          what is in the digest, and why the rest is not
      digestmail build --list monthly          write out/<issue>.html to check in a browser
      digestmail send --list monthly           send it (asks first; --yes for scripts)

    Exit codes: 0 done; 1 some deliveries failed permanently; 2 bad usage, config, content or
    subscriber file (nothing was sent); 75 temporary: run the same command again to resume.
    """
    ctx.obj = State(config_path)


def config_of(ctx: click.Context) -> Config:
    state: State = ctx.find_object(State)  # type: ignore[assignment]
    return state.config


def resolve_now(config: Config, now: str | None) -> datetime:
    """The moment the command acts at: ``--now`` (naive = site time zone) or the clock."""
    moment = parse_now(now)
    tz = config.site.timezone
    if moment is None:
        return datetime.now(tz)
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
    from digestmail import pipeline

    config = config_of(ctx)
    moment = resolve_now(config, now)
    result = pipeline.load_content(config)
    selection = None
    if list_key is not None:
        list_cfg = config.get_list(list_key)
        selection = pipeline.select_issue(
            config, list_cfg, period_text=period, now=moment, posts=result.posts
        )
    rows = listing.post_rows(result.posts, selection)
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


if __name__ == "__main__":  # pragma: no cover
    main()
