"""The steps every command shares: read content, choose an issue's posts with the ledger's memory.

``posts``, ``build``, ``send`` and ``run-due`` must agree on what an issue contains, so the
choice of period, the posts already sent and the late tips are worked out here once, and the
CLI stays a thin layer of options and printing.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from digestmail.config import Config, ListConfig
from digestmail.content.reader import ContentResult, load_posts
from digestmail.errors import DigestmailError
from digestmail.models import Issue, IssueStatus, Period, Post, PostRef, Selection
from digestmail.selection.late import late_window
from digestmail.selection.periods import parse_period
from digestmail.selection.select import select

if TYPE_CHECKING:
    from digestmail.deliver.job import SendJob
    from digestmail.deliver.send import DeliveryReport
    from digestmail.ledger.store import Ledger


def load_content(config: Config) -> ContentResult:
    return load_posts(config.site)


def resolve_period(config: Config, list_cfg: ListConfig, text: str, now: datetime) -> Period:
    return parse_period(text, cadence=list_cfg.cadence, now=now, tz=config.site.timezone)


def issue_id(list_cfg: ListConfig, period: Period) -> str:
    return f"{list_cfg.key}-{period.key}"


def history(
    config: Config, list_cfg: ListConfig, period: Period, ledger: Ledger
) -> tuple[set[PostRef], datetime | None]:
    """Posts already mailed to the list (other than by this issue) and where late tips start."""
    this_issue = issue_id(list_cfg, period)
    sent = ledger.sent_posts(list_cfg.key)
    stored = ledger.get_issue(this_issue)
    if stored is not None:
        sent -= set(stored.issue.posts)
    late_since = late_window(
        ledger.issues(list_cfg.key, with_counts=False),
        list_cfg=list_cfg,
        tz=config.site.timezone,
        period=period,
    )
    return sent, late_since


def select_issue(
    config: Config,
    list_cfg: ListConfig,
    *,
    now: datetime,
    posts: Sequence[Post],
    period: str | Period = "previous",
    ledger: Ledger | None = None,
) -> Selection:
    """The issue of ``list_cfg`` for a period, as of ``now``, knowing what was mailed before.

    ``period`` is a Period or the text of ``--period``. Without a ledger object the state file
    is read when it exists; a missing one simply means nothing was ever sent, and reading never
    creates it.
    """
    if isinstance(period, str):
        period = resolve_period(config, list_cfg, period, now)
    sent: set[PostRef] = set()
    late_since: datetime | None = None
    with ExitStack() as stack:
        if ledger is None and config.state.path.exists():
            from digestmail.ledger.store import Ledger

            ledger = stack.enter_context(Ledger.open(config.state.path))
        if ledger is not None:
            sent, late_since = history(config, list_cfg, period, ledger)
    return select(
        posts, list_cfg=list_cfg, period=period, cutoff=now, sent=sent, late_since=late_since
    )


async def send_issue_to_list(job: SendJob) -> DeliveryReport:
    """Send a rendered issue to the list's subscribers (or test copies), then archive it.

    ``job.total`` is the file's row count when the caller has it already (the send prompt).

    The stored copy wins over ``issue`` when the issue was sent before (``send_issue`` takes
    care of that); the archive is written from the stored copy once the issue is finished.
    """
    from digestmail.app.archive import write_archive
    from digestmail.app.audience import list_rows
    from digestmail.deliver.send import make_transport, send_issue, send_test_copies
    from digestmail.message.factory import MessageFactory
    from digestmail.message.unsubscribe import secret_from_env
    from digestmail.render.placeholders import used_columns
    from digestmail.subscribers.reader import count_rows, require_columns

    config, list_cfg, issue, ledger = job.config, job.list_cfg, job.issue, job.ledger
    secret = secret_from_env()

    def make_factory(sent: Issue) -> MessageFactory:
        factory = MessageFactory(sent, config=config, list_cfg=list_cfg, secret=secret)
        if not job.test_addresses:  # test copies have no CSV row: their columns are empty anyway
            require_columns(list_cfg.subscribers, factory.columns)
        return factory

    transport = make_transport(config)
    if job.test_addresses:
        return await send_test_copies(job, transport=transport, make_factory=make_factory)
    # Before the issue is stored: a stored copy is what every later run sends, so a theme
    # fixed afterwards could never replace it. Once stored, make_factory checks that copy.
    if ledger.get_issue(issue.id) is None:
        require_columns(list_cfg.subscribers, used_columns(issue))
    if job.total is None:
        job = replace(job, total=count_rows(list_cfg.subscribers))
    report = await send_issue(
        job,
        transport=transport,
        make_factory=make_factory,
        recipients=list_rows(list_cfg, ledger),
    )
    if not job.dry_run:
        stored = ledger.get_issue(issue.id)
        if stored is not None and stored.status is IssueStatus.FINISHED:
            try:
                write_archive(stored.issue, config=config, list_cfg=list_cfg)
            except (OSError, DigestmailError) as exc:
                # The mail went out: exit 2 would say it did not. Running again writes it.
                where = f"{exc.filename}: " if isinstance(exc, OSError) and exc.filename else ""
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                return replace(report, archive_error=f"{where}{reason}")
    return report
