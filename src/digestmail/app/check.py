"""``digestmail check``: find every problem of a project in one run, before a send trips over it.

An editor who fixes one error only to be shown the next one five times over stops trusting the
tool. So each area (config, schedules, content, templates, subscriber files) is checked behind its
own fault barrier and every problem is collected, each naming the file and line or the config key.
Only a config that cannot be loaded at all stops the rest, because nothing else can be found
without it; a bad cron expression is the exception: it is recorded and the list's default schedule
stands in for it, so the other areas are still checked.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from digestmail.app.audience import has_signups
from digestmail.app.schedule import first_fire_after
from digestmail.config import Config, ListConfig, find_config, load_config, parse_config
from digestmail.content.reader import ContentResult, load_posts
from digestmail.errors import ConfigError, DigestmailError
from digestmail.ledger.store import Ledger
from digestmail.message.dkim_check import check_dkim
from digestmail.message.factory import MessageFactory
from digestmail.message.unsubscribe import secret_from_env
from digestmail.models import CategoryGroup, Post, ProblemKind, Recipient, Selection
from digestmail.render.theme import render_issue
from digestmail.selection.periods import period_of
from digestmail.subscribers.reader import check_subscribers, require_columns

ERROR = "error"
WARNING = "warning"

_DEFAULT_SCHEDULE = "0 8 1 * *"
_SAMPLE_TIPS = 3
_SAMPLE_RECIPIENT = Recipient(email="check@example.org", name="Digestmail Check")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing to fix; ``message`` starts with where it is (file:line, or file: key)."""

    area: str
    """``config``, ``schedule``, ``dkim``, ``content``, ``template`` or ``subscribers``."""
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        return f"{self.severity}: {self.area}: {self.message}"


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Everything ``check`` found, and what it looked at (for the summary line)."""

    config_path: Path
    problems: tuple[Problem, ...] = ()
    checked: tuple[str, ...] = field(default=())
    """What was checked, for people: ``"12 posts"``, ``"list monthly: 240 subscribers"``."""
    taken: tuple[str, ...] = ()
    """What the Hugo config supplied: ``site.base_url = https://... (from hugo.toml: baseURL)``."""

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.severity == WARNING)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def exit_code(self) -> int:
        """2 when anything would stop a send (the contract's "bad config, content..."), else 0."""
        return 0 if self.ok else 2


def run_checks(
    config_path: str | Path | None = None,
    *,
    now: datetime | None = None,
    dns_records: Sequence[str] = (),
    content: ContentResult | None = None,
) -> CheckReport:
    """Check the whole project the config belongs to and report every problem at once.

    ``now`` (default: the clock) is the moment templates are rendered for; ``dns_records``
    are the DKIM TXT records the key must match (``[dkim]``). ``content`` is what
    :func:`load_posts` returned for this config's site, when the caller has already read it
    (the preview, after each save): the posts are then not read a second time.
    """
    path = find_config(config_path).resolve()
    config, problems = _load_config(path)
    if config is None:
        return CheckReport(config_path=path, problems=tuple(problems))
    moment = now or datetime.now(config.site.timezone)
    checked: list[str] = [f"config {path}"]
    hugo = config.site.hugo_settings
    if hugo.root is not None:
        checked.append(f"Hugo site {hugo.root}")
    problems.extend(Problem("config", warning, WARNING) for warning in hugo.warnings)

    problems.extend(_check_schedules(config, moment))
    problems.extend(_check_web(config))
    if config.dkim is not None:
        dkim = check_dkim(config, dns_records)
        problems.extend(Problem("dkim", text) for text in dkim.errors)
        checked.extend(dkim.notes)
        config = dataclasses.replace(config, dkim=None)  # reported once above, not per list
    loaded = content if content is not None else load_posts(config.site)
    checked.append(_count(len(loaded.posts), "post"))
    problems.extend(Problem("content", str(error)) for error in loaded.errors)
    for post in loaded.posts:
        problems.extend(
            Problem("content", f"{post.path}: {warning}", WARNING) for warning in post.warnings
        )
    seen_files: set[Path] = set()
    for list_cfg in config.lists.values():
        template_problems, columns = _check_templates(config, list_cfg, loaded.posts, moment)
        problems.extend(template_problems)
        count, found, readable = _check_subscribers(list_cfg, config.state.path)
        if readable:  # an unreadable file is reported once, as the subscribers' problem
            problems.extend(_check_columns(list_cfg, columns))
        checked.append(f"list {list_cfg.key}: {_count(count, 'subscriber')}")
        if list_cfg.subscribers not in seen_files:  # lists may share a file: report it once
            seen_files.add(list_cfg.subscribers)
            problems.extend(found)
    return CheckReport(
        config_path=path,
        problems=tuple(problems),
        checked=tuple(checked),
        taken=tuple(str(item) for item in hugo.taken),
    )


# --- config and schedules -----------------------------------------------------------------------


def _check_web(config: Config) -> Iterator[Problem]:
    """``[web]``: serve's links must be https on the internet (RFC 8058 asks for it, and the
    tokens travel in them); a secret-less setup is reported by the template check, which
    builds a message with serve's link."""
    url = config.web.base_url
    if not url or url.startswith("https://"):
        return
    host = urlsplit(url).hostname or ""
    local = host in ("127.0.0.1", "::1", "localhost")
    yield Problem(
        "config",
        f"{config.path}: web.base_url: {url} is not https"
        + (
            "; fine for a try on this machine, not for readers"
            if local
            else "; readers' mail clients need an https link (put serve behind nginx or Caddy)"
        ),
        WARNING if local else ERROR,
    )


def _schedule_list(error: ConfigError) -> str | None:
    """The list whose ``schedule`` the error is about, or None for any other config error."""
    key = error.key or ""
    if key.startswith("lists.") and key.endswith(".schedule"):
        return key.removeprefix("lists.").removesuffix(".schedule")
    return None


def _load_config(path: Path) -> tuple[Config | None, list[Problem]]:
    """Load the config, collecting bad cron expressions instead of stopping at the first."""
    try:
        return load_config(path), []
    except ConfigError as exc:
        if _schedule_list(exc) is None:
            return None, [Problem("config", str(exc))]
    # load_config got as far as the lists, so the file exists and is valid TOML
    raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    problems: list[Problem] = []
    for _ in range(len(raw.get("lists", {})) + 1):
        try:
            return parse_config(raw, path=path), problems
        except ConfigError as exc:
            name = _schedule_list(exc)
            problems.append(Problem("schedule" if name else "config", str(exc)))
            if name is None:
                return None, problems
            raw["lists"][name]["schedule"] = _DEFAULT_SCHEDULE
    return None, problems  # pragma: no cover - each pass fixes one list


def _check_schedules(config: Config, now: datetime) -> Iterator[Problem]:
    """Valid syntax is checked at load; here: does the schedule ever fire (not 30 February)?"""
    for list_cfg in config.lists.values():
        try:
            first_fire_after(list_cfg.schedule, now, config.site.timezone)
        except ValueError as exc:
            error = ConfigError(str(exc), path=config.path, key=f"lists.{list_cfg.key}.schedule")
            yield Problem("schedule", str(error))


# --- templates ----------------------------------------------------------------------------------


def _sample_selection(
    list_cfg: ListConfig, posts: tuple[Post, ...], now: datetime, config: Config
) -> Selection:
    """The list's newest complete posts (or none): enough to run every template branch once."""
    period = period_of(now, cadence=list_cfg.cadence, tz=config.site.timezone)
    groups: list[CategoryGroup] = []
    for category in list_cfg.categories:
        chosen = sorted(
            (
                p
                for p in posts
                if p.in_category(category)
                and not p.incomplete
                and (not p.language or p.language == list_cfg.language)
            ),
            key=lambda p: p.date or now,
            reverse=True,
        )[:_SAMPLE_TIPS]
        if chosen:
            groups.append(CategoryGroup(category=category, posts=tuple(chosen)))
    return Selection(
        list_name=list_cfg.key, period=period, cutoff=now, groups=tuple(groups), excluded=()
    )


def _check_templates(
    config: Config, list_cfg: ListConfig, posts: tuple[Post, ...], now: datetime
) -> tuple[list[Problem], tuple[str, ...]]:
    """Render the list's issue and one message, as ``build`` would; report what fails.

    Also returns the subscriber columns the theme uses, for :func:`_check_columns`.
    """
    try:
        selection = _sample_selection(list_cfg, posts, now, config)
        issue = render_issue(selection, config=config, list_cfg=list_cfg)
        factory = MessageFactory(issue, config=config, list_cfg=list_cfg, secret=secret_from_env())
        factory.build(_SAMPLE_RECIPIENT, now=now)
    except DigestmailError as exc:
        return [_list_problem(list_cfg, exc)], ()
    left_out = [Problem("template", f"lists.{list_cfg.key}: {w}", WARNING) for w in issue.warnings]
    return left_out, factory.columns


def _check_columns(list_cfg: ListConfig, columns: tuple[str, ...]) -> list[Problem]:
    """The theme's ``subscriber.<column>`` against the file's header (a readable file)."""
    try:
        require_columns(list_cfg.subscribers, columns)
    except DigestmailError as exc:
        return [_list_problem(list_cfg, exc)]
    return []


def _list_problem(list_cfg: ListConfig, exc: DigestmailError) -> Problem:
    where = f"lists.{list_cfg.key}"
    text = str(exc)
    area = "config" if isinstance(exc, ConfigError) else "template"  # e.g. no secret set
    return Problem(area, text if where in text else f"{where}: {text}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


# --- subscribers --------------------------------------------------------------------------------


def _check_subscribers(list_cfg: ListConfig, state_path: Path) -> tuple[int, list[Problem], bool]:
    """Invalid rows are errors (they would be skipped silently); duplicates are warnings.

    Returns the count of addresses, the problems, and whether the file could be read at all.
    """
    found: list[Problem] = []
    signed_up = False
    if state_path.exists():  # web sign-ups make up for a file without rows
        try:
            with Ledger.open(state_path) as ledger:
                signed_up = has_signups(ledger, list_cfg.key)
        except DigestmailError as exc:
            found.append(Problem("state", str(exc)))
    try:
        report = check_subscribers(list_cfg.subscribers, signed_up=signed_up)
    except DigestmailError as exc:
        return 0, [*found, Problem("subscribers", str(exc))], False
    for problem in report.problems:
        what = problem.reason
        if problem.email and problem.email not in what:
            what = f"{problem.email}: {what}"
        severity = ERROR if problem.kind is ProblemKind.INVALID else WARNING
        found.append(
            Problem("subscribers", f"{list_cfg.subscribers}:{problem.line}: {what}", severity)
        )
    if report.empty:
        found.append(
            Problem(
                "subscribers", f"{list_cfg.subscribers}: no address to mail ({report.rows} rows)"
            )
        )
    return report.valid, found, True
