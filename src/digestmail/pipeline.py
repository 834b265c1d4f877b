"""The steps every command shares: read content, choose an issue's posts with the ledger's memory.

``posts``, ``build``, ``send`` and ``run-due`` must agree on what an issue contains, so the
choice of period, the posts already sent and the late tips are worked out here once, and the
CLI stays a thin layer of options and printing.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime
from typing import TYPE_CHECKING

from digestmail.config import Config, ListConfig
from digestmail.content import ContentResult, load_posts
from digestmail.models import Period, Post, PostRef, Selection
from digestmail.periods import parse_period
from digestmail.selection import select

if TYPE_CHECKING:
    from digestmail.ledger import Ledger


def load_content(config: Config) -> ContentResult:
    return load_posts(config.site)


def resolve_period(config: Config, list_cfg: ListConfig, text: str, now: datetime) -> Period:
    return parse_period(text, cadence=list_cfg.cadence, now=now, tz=config.site.timezone)


def issue_id(list_cfg: ListConfig, period: Period) -> str:
    return f"{list_cfg.key}-{period.key}"


def history(
    config: Config, list_cfg: ListConfig, this_issue: str, ledger: Ledger
) -> tuple[set[PostRef], datetime | None]:
    """Posts already mailed to the list (other than by this issue) and where late tips start.

    Late tips are posts dated in a period that has already been mailed but that were not yet
    published when that issue went out; they go into the next issue. The window starts at the
    oldest period of the list that has a finished issue, so nothing from before the list's
    first mailing floods in.
    """
    sent = ledger.sent_posts(list_cfg.key)
    stored = ledger.get_issue(this_issue)
    if stored is not None:
        sent -= set(stored.issue.posts)
    late_since: datetime | None = None
    for summary in ledger.issues(list_cfg.key):
        if summary.status != "finished" or summary.id == this_issue:
            continue
        start = parse_period(
            summary.period,
            cadence=list_cfg.cadence,
            now=datetime.now(config.site.timezone),
            tz=config.site.timezone,
        ).start
        if late_since is None or start < late_since:
            late_since = start
    return sent, late_since


def select_issue(
    config: Config,
    list_cfg: ListConfig,
    *,
    now: datetime,
    posts: Sequence[Post],
    period_text: str | None = None,
    period: Period | None = None,
    ledger: Ledger | None = None,
) -> Selection:
    """The issue of ``list_cfg`` for a period, as of ``now``, knowing what was mailed before.

    Without a ledger object the state file is read when it exists; a missing one simply means
    nothing was ever sent, and reading never creates it.
    """
    if period is None:
        period = resolve_period(config, list_cfg, period_text or "previous", now)
    sent: set[PostRef] = set()
    late_since: datetime | None = None
    with ExitStack() as stack:
        if ledger is None and config.state.path.exists():
            from digestmail.ledger import Ledger

            ledger = stack.enter_context(Ledger.open(config.state.path))
        if ledger is not None:
            sent, late_since = history(config, list_cfg, issue_id(list_cfg, period), ledger)
    if late_since is not None and late_since >= period.start:
        late_since = None
    return select(
        posts, list_cfg=list_cfg, period=period, cutoff=now, sent=sent, late_since=late_since
    )
