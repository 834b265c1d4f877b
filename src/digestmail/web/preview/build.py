"""One rendering of the preview: the issue ``send`` would send now, or what stopped it.

Everything is computed by the app layer and the stages below it, exactly as ``send`` does:
content, selection (with the ledger's memory when the state file exists; reading never creates
it), ``render_issue``, and one sample message from :class:`MessageFactory`. A problem an editor
can cause (broken front matter, a template error, a bad config value) is caught and kept as
text naming file and line, so the server keeps running and the page recovers after a fix.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from digestmail.config import Config, ListConfig, load_config
from digestmail.content.reader import ContentResult
from digestmail.errors import DigestmailError
from digestmail.models import Issue, Recipient, Selection

RowsFn = Callable[..., list[dict[str, Any]]]
"""``cli.listing.post_rows``: handed in by the command, since ``web`` may not import ``cli``."""

GMAIL_CLIP = 102 * 1024
SAMPLE_NAME = "Sample Reader"
SAMPLE_EMAIL = "reader@example.org"
PREVIEW_SECRET = "preview-only-not-a-real-secret"
"""Signs the sample's links when ``$DIGESTMAIL_SECRET`` is unset: the page must show a message
even on an editor's machine without the secret; its unsubscribe link is then not a real one."""

SHOWN_HEADERS = (
    "From",
    "To",
    "Reply-To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Precedence",
)


@dataclass(frozen=True, slots=True)
class PreviewSettings:
    """What ``digestmail preview`` was started with."""

    config_path: Path
    list_key: str
    period: str = "previous"
    now: datetime | None = None
    """``--now`` as given (naive: the site's time zone); None: the clock at each rendering."""
    rows: RowsFn | None = None


@dataclass(frozen=True, slots=True)
class Preview:
    """What the page shows; ``errors`` non-empty means the issue could not be rendered."""

    version: int
    errors: tuple[str, ...] = ()
    issue_id: str = ""
    subject: str = ""
    html: str = ""
    """The HTML part one sample recipient gets (placeholders filled)."""
    text: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    html_bytes: int = 0
    message_bytes: int = 0
    tips: tuple[str, ...] = ()
    rows: tuple[dict[str, Any], ...] = ()
    problems: tuple[str, ...] = ()
    """What ``digestmail check`` reports (errors and warnings)."""
    warnings: tuple[str, ...] = ()
    """Render warnings (:attr:`Issue.warnings`) and the posts' own."""
    findings: tuple[str, ...] = ()
    """The page's own checks of the message (images, links, headings, subject, spam)."""
    cutoff: str = ""
    seconds: float = 0.0
    test_addresses: tuple[str, ...] = field(default=())
    issue: Issue | None = field(default=None, repr=False, compare=False)
    """The rendered issue, for a test copy of exactly what the page shows."""
    config: Config | None = field(default=None, repr=False, compare=False)
    message: bytes = field(default=b"", repr=False, compare=False)
    """The sample message as sent, for SpamAssassin (:mod:`.spam`)."""

    @property
    def ok(self) -> bool:
        return not self.errors


def _moment(config: Config, now: datetime | None) -> datetime:
    tz = config.site.timezone
    if now is None:
        return datetime.now(tz)
    return now.replace(tzinfo=tz) if now.tzinfo is None else now.astimezone(tz)


def sample_recipient(addresses: Iterable[str]) -> Recipient:
    first = next(iter(addresses), "")
    return Recipient(email=first or SAMPLE_EMAIL, name=SAMPLE_NAME)


def _parts(data: bytes) -> tuple[EmailMessage, str, str]:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    html = text = ""
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            html = part.get_content()
        elif part.get_content_type() == "text/plain":
            text = part.get_content()
    return msg, html, text


def _checks(settings: PreviewSettings, config: Config, content: ContentResult) -> tuple[str, ...]:
    """``digestmail check``'s problems, handed the posts the rendering already read."""
    from digestmail.app.check import run_checks

    report = run_checks(settings.config_path, now=_moment(config, settings.now), content=content)
    return tuple(str(p) for p in report.problems)


def _render(
    settings: PreviewSettings, config: Config, list_cfg: ListConfig
) -> tuple[Selection, Issue, ContentResult]:
    from digestmail.app import issues
    from digestmail.render.theme import render_issue

    content = issues.load_content(config)
    if content.errors:
        raise _ContentErrors(tuple(str(e) for e in content.errors))
    moment = _moment(config, settings.now)
    selection = issues.select_issue(
        config, list_cfg, now=moment, posts=content.posts, period=settings.period
    )
    return selection, render_issue(selection, config=config, list_cfg=list_cfg), content


class _ContentErrors(Exception):
    def __init__(self, errors: tuple[str, ...]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def build_preview(settings: PreviewSettings, version: int) -> Preview:
    """Render the preview once; never raises for what an editor can break."""
    started = time.perf_counter()
    try:
        preview = _build(settings, version)
    except _ContentErrors as exc:
        preview = Preview(version=version, errors=exc.errors)
    except DigestmailError as exc:
        preview = Preview(version=version, errors=(str(exc),))
    except OSError as exc:
        preview = Preview(version=version, errors=(f"{exc.filename or ''}: {exc.strerror or exc}",))
    except Exception as exc:  # a bug must not stop the preview either: show it, keep serving
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{last.filename}:{last.lineno}"
        preview = Preview(version=version, errors=(f"{where}: {type(exc).__name__}: {exc}",))
    seconds = time.perf_counter() - started
    return _with_seconds(preview, seconds)


def _with_seconds(preview: Preview, seconds: float) -> Preview:
    from dataclasses import replace

    return replace(preview, seconds=seconds)


def _build(settings: PreviewSettings, version: int) -> Preview:
    from digestmail.message.factory import MessageFactory
    from digestmail.message.unsubscribe import secret_from_env
    from digestmail.web.preview.findings import find_problems, site_files

    config = load_config(settings.config_path)
    list_cfg = config.get_list(settings.list_key)
    selection, issue, content = _render(settings, config, list_cfg)
    posts = content.posts
    factory = MessageFactory(
        issue, config=config, list_cfg=list_cfg, secret=secret_from_env() or PREVIEW_SECRET
    )
    test_addresses = config.preview.test_addresses
    message = factory.build(sample_recipient(test_addresses))
    msg, html, text = _parts(message.data)
    headers = tuple((name, str(msg[name])) for name in SHOWN_HEADERS if msg[name] is not None)
    rows: tuple[dict[str, Any], ...] = ()
    use_headline = list_cfg.title_from == "auto"
    if settings.rows is not None:
        rows = tuple(
            settings.rows(posts, selection, now=selection.cutoff, use_headline=use_headline)
        )
    warnings = (*issue.warnings, *(f"{p.rel_path}: {w}" for p in posts for w in p.warnings))
    return Preview(
        version=version,
        issue_id=issue.id,
        subject=issue.subject,
        html=html,
        text=text,
        headers=headers,
        html_bytes=len(html.encode("utf-8")),
        message_bytes=len(message.data),
        tips=tuple(p.shown(use_headline=use_headline).title for p in selection.posts),
        rows=rows,
        problems=_checks(settings, config, content),
        warnings=tuple(warnings),
        findings=tuple(
            find_problems(
                issue.subject, html, config=config, site=site_files(config, list_cfg, posts)
            )
        ),
        cutoff=f"{selection.cutoff:%Y-%m-%d %H:%M %Z}",
        test_addresses=test_addresses,
        issue=issue,
        config=config,
        message=message.data,
    )
