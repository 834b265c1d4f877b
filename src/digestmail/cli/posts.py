"""``digestmail posts``: every post as Hugo reads it, and why it is in or out of an issue."""

from __future__ import annotations

import click
from click.core import ParameterSource

from digestmail.cli import listing
from digestmail.cli.common import (
    NOW_OPTION,
    PERIOD_OPTION,
    config_of,
    end_program,
    get_err_console,
    handle_errors,
    report_content_errors,
    resolve_now,
)
from digestmail.errors import ExitCode, UsageError


@click.command()
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
    from digestmail.content import load_posts

    if list_key is None and ctx.get_parameter_source("period") is ParameterSource.COMMANDLINE:
        raise UsageError("--period chooses a list's issue: give --list too")
    config = config_of(ctx)
    moment = resolve_now(config, now)
    # What app.issues.load_content does, without importing the issue steps (and Babel with
    # them) when no list's issue is asked for.
    result = load_posts(config.site)
    selection, use_headline = None, True
    if list_key is not None:
        from digestmail.app import issues

        list_cfg = config.get_list(list_key)
        selection = issues.select_issue(
            config, list_cfg, period=period, now=moment, posts=result.posts
        )
        use_headline = list_cfg.title_from == "auto"
    rows = listing.post_rows(result.posts, selection, now=moment, use_headline=use_headline)
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
        get_err_console().print(listing.to_table(rows, title=title))
    if result.errors:
        report_content_errors(result.errors)
    end_program(ExitCode.USAGE if result.errors else ExitCode.OK)
