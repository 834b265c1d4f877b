"""``digestmail check``: every problem of a project in one run."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from digestmail.cli.common import NOW_OPTION, State, err_console, parse_now


@click.command()
@NOW_OPTION
@click.option(
    "--dns-record",
    "dns_records",
    multiple=True,
    metavar="RECORD|FILE",
    help='The published DKIM TXT record ("v=DKIM1; k=rsa; p=...") or a file holding it.',
)
@click.pass_context
def check(ctx: click.Context, now: str | None, dns_records: tuple[str, ...]) -> None:
    """Check config, templates, every post and every subscriber file; report all problems."""
    from digestmail.app.check import run_checks
    from digestmail.message.dkim_check import read_records

    state: State = ctx.find_object(State)  # type: ignore[assignment]
    moment = parse_now(now)
    try:
        records = read_records(dns_records)
    except OSError as exc:
        raise click.BadParameter(
            f"{exc.filename}: {exc.strerror}", param_hint="--dns-record"
        ) from exc
    report = run_checks(state.config_path, now=moment, dns_records=records)
    for problem in report.problems:
        colour = "red" if problem in report.errors else "yellow"
        err_console.print(f"[{colour}]{escape(str(problem))}[/]", soft_wrap=True)
    for item in report.taken:
        err_console.print(escape(item), soft_wrap=True)
    for item in report.checked:
        err_console.print(f"checked {escape(item)}")
    verdict = "ok" if report.ok else f"{len(report.errors)} problem(s) to fix"
    err_console.print(verdict)
    sys.exit(report.exit_code)
