"""``digestmail status``: every issue in the ledger with its delivery counts and bounces.

Per relay (``[[smtp.relays]]``), the deliveries whose last outcome it gave: in the JSON always,
in the table as a "by relay" column once some issue went out through more than one.

Bounces are what ``digestmail inbox`` matched to an issue: hard (the address was suppressed)
and soft (counted towards ``inbox.soft_bounce_limit``). A bounce matched only by address, to
no issue, is not shown here (``digestmail suppressions`` has it).
"""

from __future__ import annotations

import json
from datetime import datetime

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from digestmail.cli.common import TABLE_OR_JSON, config_of, err_console, handle_errors
from digestmail.models import DeliveryStatus


@click.command()
@click.option("--list", "list_key", metavar="LIST", help="Only this list's issues.")
@click.option(
    "--period", metavar="PERIOD", help="Only the issues of this period (2017-11, previous, ...)."
)
@TABLE_OR_JSON
@click.pass_context
@handle_errors
def status(ctx: click.Context, list_key: str | None, period: str | None, fmt: str) -> None:
    """Show every issue in the ledger with its delivery counts and bounces.

    The bounced column counts hard bounces (and soft ones as "+N soft") that
    `digestmail inbox` matched to the issue.

    --period takes the same forms as elsewhere (2017-11, 2017-W45, previous, ...).
    """
    from digestmail.ledger import Ledger
    from digestmail.selection import parse_period

    config = config_of(ctx)
    if list_key is not None:
        config.get_list(list_key)
    if not config.state.path.exists():
        summaries = []
        bounces: dict[str, tuple[int, int]] = {}
    else:
        with Ledger.open(config.state.path) as ledger:
            summaries = ledger.issues(list_key)
            bounces = ledger.inbox.bounces_per_issue()
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
                "bounces": dict(zip(("hard", "soft"), bounces.get(s.id, (0, 0)), strict=True)),
                "relays": {name: _relay_counts(c) for name, c in s.relays.items()},
            }
            for s in summaries
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"issues in {config.state.path}", title_justify="left")
    # Ids and times never wrap: piped into a log (80 columns) they must stay greppable.
    table.add_column("issue", no_wrap=True)
    table.add_column("status")
    for column in ("sent", "failed", "retry", "suppressed", "bounced"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("finished", no_wrap=True)
    by_relay = any(len(s.relays) > 1 for s in summaries)
    if by_relay:
        table.add_column("by relay")
    for s in summaries:
        c = s.counts
        relays = [_relay_cell(name, counts) for name, counts in s.relays.items()]
        table.add_row(
            s.id,
            s.status + (f" ({escape(s.skip_reason)})" if s.skip_reason else ""),
            str(c.get(DeliveryStatus.SENT, 0)),
            str(c.get(DeliveryStatus.FAILED_PERMANENT, 0)),
            str(c.get(DeliveryStatus.FAILED_TEMPORARY, 0) + c.get(DeliveryStatus.QUEUED, 0)),
            str(c.get(DeliveryStatus.SUPPRESSED, 0)),
            _bounced(*bounces.get(s.id, (0, 0))),
            f"{s.finished_at.astimezone(config.site.timezone):%Y-%m-%d %H:%M %Z}"
            if s.finished_at
            else "",
            *(["\n".join(relays)] if by_relay else []),
        )
    # Off a terminal rich would squeeze the table into 80 columns; a log or a pager has room.
    out = (
        err_console if err_console.is_terminal else Console(stderr=True, highlight=False, width=200)
    )
    filtered = list_key is not None or period is not None
    out.print(table if summaries else "no issue matches" if filtered else "no issues sent yet")


def _relay_counts(counts: dict[DeliveryStatus, int]) -> dict[str, int]:
    """A relay's deliveries as ``status`` reports them: accepted, waiting for a retry, refused.

    Each row counts for the relay that gave its last outcome: a message deferred by one relay
    and accepted by another counts as sent by the second only.
    """
    return {
        "sent": counts.get(DeliveryStatus.SENT, 0),
        "deferred": counts.get(DeliveryStatus.FAILED_TEMPORARY, 0)
        + counts.get(DeliveryStatus.QUEUED, 0),
        "failed": counts.get(DeliveryStatus.FAILED_PERMANENT, 0),
    }


def _relay_cell(name: str, counts: dict[DeliveryStatus, int]) -> str:
    """``relay-a 120``, with ``(2 retry, 1 failed)`` when there are any."""
    found = _relay_counts(counts)
    extra = [f"{found['deferred']} retry"] if found["deferred"] else []
    extra += [f"{found['failed']} failed"] if found["failed"] else []
    return f"{escape(name)} {found['sent']}" + (f" ({', '.join(extra)})" if extra else "")


def _bounced(hard: int, soft: int) -> str:
    """``3``, or ``3 +1 soft`` when soft bounces were counted too."""
    return f"{hard} +{soft} soft" if soft else str(hard)
