"""``run-due``: every issue whose schedule has come, built, sent and recorded, one after another.

Separate from the CLI so the rules of an unattended run live in one place: an empty period is
recorded as skipped instead of mailed, broken content stops the issue (a silently missing tip is
a lost tip), an issue another run holds is left to it while the others go on, and a stop request
ends the run between issues. The CLI only prints the outcomes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from digestmail.app import issues
from digestmail.app.schedule import DueIssue, due_issues
from digestmail.config import Config
from digestmail.content.reader import ContentResult
from digestmail.deliver.counts import ProgressSink
from digestmail.deliver.job import SendJob
from digestmail.deliver.send import DeliveryReport
from digestmail.errors import (
    ConfigError,
    ExitCode,
    HeaderInjectionError,
    LockHeldError,
    SendStoppedError,
    SubscriberError,
    TemplateError,
)
from digestmail.ledger.store import Ledger
from digestmail.models import IssueStatus
from digestmail.render.theme import render_issue


class Log(Protocol):
    """Where an unattended run reports each issue (the CLI's event log: text or JSON lines)."""

    def info(self, message: str, /, **fields: object) -> None: ...
    def warning(self, message: str, /, **fields: object) -> None: ...
    def error(self, message: str, /, **fields: object) -> None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one due issue."""

    issue_id: str
    code: ExitCode
    note: str
    """One line for people: skipped and why, would be sent, held by another run, sent."""
    report: DeliveryReport | None = None
    content: ContentResult | None = None
    """Set when broken posts stopped the issue, so the CLI can name every file and line."""


def find_due(
    config: Config, *, ledger: Ledger | None, now: datetime, include_old: bool
) -> list[DueIssue]:
    def status_of(issue_id: str) -> IssueStatus | None:
        stored = ledger.get_issue(issue_id) if ledger is not None else None
        return stored.status if stored is not None else None

    # An issue left open (half sent) is always finished first, however old: one query finds
    # those the schedule's look-back cannot see.
    open_issues = (
        [s.id for s in ledger.issues(with_counts=False) if s.status is IssueStatus.OPEN]
        if ledger is not None
        else []
    )
    return due_issues(
        config, now=now, status_of=status_of, include_old=include_old, open_issues=open_issues
    )


@dataclass(frozen=True, slots=True)
class DueRun:
    """One ``run-due`` invocation: where it records, when it thinks it is, and how it reports."""

    config: Config
    ledger: Ledger | None
    """None only for a dry run with no state yet."""
    now: datetime
    dry_run: bool
    log: Log
    progress: Callable[[], AbstractContextManager[ProgressSink]]
    """Opens a progress display for one issue's send."""
    on_outcome: Callable[[Outcome], None]
    stop: asyncio.Event


async def run_due(run: DueRun, due: list[DueIssue]) -> list[Outcome]:
    """Handle each due issue in turn, reporting each outcome as soon as it is known."""
    content = issues.load_content(run.config)
    outcomes: list[Outcome] = []
    for item in due:
        if run.stop.is_set():
            outcomes.append(Outcome(item.issue_id, ExitCode.TEMPFAIL, "not started: interrupted"))
            break
        outcome = await _one(run, item, content)
        run.on_outcome(outcome)
        outcomes.append(outcome)
    return outcomes


async def _one(run: DueRun, item: DueIssue, content: ContentResult) -> Outcome:
    config, ledger, dry_run, log = run.config, run.ledger, run.dry_run, run.log
    fields = {"issue": item.issue_id, "due_at": item.due_at.isoformat()}
    if item.too_old:
        log.warning("not sent: older than catch_up; use --include-old", **fields)
        return Outcome(
            item.issue_id,
            ExitCode.OK,
            f"due since {item.due_at:%Y-%m-%d %H:%M}, older than the list's catch_up window: "
            "not sent (use --include-old to send it)",
        )
    if content.errors:
        log.error("not sent: posts cannot be read", **fields, errors=len(content.errors))
        return Outcome(
            item.issue_id,
            ExitCode.USAGE,
            f"not sent: {len(content.errors)} post(s) cannot be read",
            content=content,
        )
    list_cfg = config.get_list(item.list_key)
    selection = issues.select_issue(
        config, list_cfg, now=run.now, posts=content.posts, period=item.period, ledger=ledger
    )
    stored = ledger.get_issue(item.issue_id) if ledger is not None else None
    if not selection.posts and stored is None:
        reason = f"no published posts of {', '.join(list_cfg.categories)} in {item.period.key}"
        log.info("skipped: empty", **fields, reason=reason)
        if not dry_run and ledger is not None:
            ledger.skip_issue(
                issue_id=item.issue_id,
                list_key=list_cfg.key,
                period=item.period.key,
                reason=reason,
            )
        return Outcome(item.issue_id, ExitCode.OK, f"skipped, {reason}")
    try:
        issue = (
            stored.issue
            if stored is not None and not selection.posts
            else render_issue(selection, config=config, list_cfg=list_cfg)
        )
        log.info("sending", **fields, tips=len(issue.posts), dry_run=dry_run)
        if ledger is None:
            return Outcome(item.issue_id, ExitCode.OK, f"would be sent ({len(issue.posts)} tips)")
        with run.progress() as sink:
            job = SendJob(
                config, list_cfg, issue, ledger, dry_run=dry_run, on_progress=sink, stop=run.stop
            )
            report = await issues.send_issue_to_list(job)
    except LockHeldError as exc:
        log.warning("not sent: another run holds it", **fields)
        return Outcome(item.issue_id, exc.exit_code, str(exc))
    except _LIST_ERRORS as exc:
        # This list's own input (its subscriber file, theme, from address): the other lists
        # still go out; the exit code still reports the failure.
        log.error("not sent", **fields, error=str(exc))
        return Outcome(item.issue_id, exc.exit_code, f"not sent: {exc}")
    except SendStoppedError as exc:
        if not isinstance(exc.cause, _LIST_ERRORS):
            raise  # the ledger: every other issue would fail the same way
        log.error("stopped part-way", **fields, error=str(exc))
        return Outcome(item.issue_id, exc.exit_code, f"stopped part-way: {exc}")
    return Outcome(item.issue_id, report.exit_code, "sent", report=report)


_LIST_ERRORS = (SubscriberError, TemplateError, ConfigError, HeaderInjectionError)
"""Errors that belong to one list; a relay or ledger failure still ends the whole run."""
