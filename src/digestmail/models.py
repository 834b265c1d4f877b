"""The frozen values that flow down the pipeline: Post -> Selection -> Issue -> message.

They are plain data with no behaviour beyond derived properties, so every stage can be tested
on its own by building these by hand.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Headline:
    """What a digest shows of a post whose front-matter title is a placeholder.

    The real title is the body's first heading; the headings right after it are its subtitle,
    and both are gone from ``body`` and ``summary`` (:mod:`digestmail.content.titles`).
    """

    title: str
    subtitle: str
    body: str
    summary: str | None
    truncated: bool


@dataclass(frozen=True, slots=True)
class Post:
    """One Markdown post, read and normalised the way Hugo reads it."""

    path: Path
    """Absolute path of the source file."""
    rel_path: str
    """Path relative to the content dir, with forward slashes (stable across machines)."""
    section: str
    slug: str
    title: str
    date: datetime | None
    publish_date: datetime | None
    expiry_date: datetime | None
    lastmod: datetime | None
    draft: bool
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    author: str
    thumbnail: str
    summary: str | None
    """Markdown of the text before ``<!--more-->``; None without the marker, when the summary is
    Hugo's automatic one, cut from the body when the post is rendered."""
    body: str
    """Markdown of the whole body, the ``<!--more-->`` marker removed."""
    permalink: str
    """Absolute URL of the post on the site."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Every other front-matter key, lower-cased as Hugo does."""
    bundle: bool = False
    """True for a page bundle (``dir/index.md``): its resources live under the permalink."""
    truncated: bool = False
    """Text follows the ``<!--more-->`` marker. Without a marker, whether the automatic summary
    is shorter than the body is known only once it is rendered."""
    warnings: tuple[str, ...] = ()
    """Problems that do not stop the post being listed (a missing date or title)."""
    language: str = ""
    """The content language (``post.de.md`` -> ``de``); empty for a post built by hand, which
    every list takes."""
    headline: Headline | None = None
    """Set when the title is a placeholder and the body opens with the real one."""

    def shown(self, *, use_headline: bool = True) -> Headline:
        """What a digest shows of the post: its headline when it has one (and a list wants it),
        else its own title (without the spaces Hugo keeps around it), body and summary."""
        if use_headline and self.headline is not None:
            return self.headline
        return Headline(self.title.strip(), "", self.body, self.summary, self.truncated)

    @property
    def incomplete(self) -> bool:
        """A post without a date or title can be listed but never mailed.

        ``title`` is kept as written, spaces and all (Hugo lists it so); only blank is none.
        """
        return self.date is None or not self.title.strip()

    def in_category(self, category: str) -> bool:
        wanted = category.casefold()
        return any(c.casefold() == wanted for c in self.categories)


@dataclass(frozen=True, slots=True)
class Period:
    """A span of time an issue covers, as half-open [start, end) in the site's time zone."""

    key: str
    """Canonical name: ``2017-11``, ``2017-W45`` or ``2017-11-01..2017-11-30``."""
    kind: str
    """``month``, ``week`` or ``range``."""
    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


class Reason(enum.StrEnum):
    """Why a post is not in an issue; the values are the contract's short words."""

    DRAFT = "draft"
    FUTURE = "future"
    EXPIRED = "expired"
    PERIOD = "period"
    CATEGORY = "category"
    INCOMPLETE = "incomplete"
    SENT = "sent"
    LANGUAGE = "language"
    """In another content language than the list's (``lists.X.language``)."""


@dataclass(frozen=True, slots=True)
class Excluded:
    post: Post
    reason: Reason


@dataclass(frozen=True, slots=True)
class CategoryGroup:
    """The chosen posts of one category, newest first."""

    category: str
    posts: tuple[Post, ...]


@dataclass(frozen=True, slots=True)
class Selection:
    """The posts of one issue, grouped and ordered, and why every other post was left out."""

    list_name: str
    period: Period
    cutoff: datetime
    groups: tuple[CategoryGroup, ...]
    excluded: tuple[Excluded, ...]

    @property
    def posts(self) -> tuple[Post, ...]:
        return tuple(p for g in self.groups for p in g.posts)

    @property
    def issue_id(self) -> str:
        return f"{self.list_name}-{self.period.key}"


@dataclass(frozen=True, slots=True)
class PostRef:
    """What the ledger remembers of a post that went out, so it is never sent twice."""

    rel_path: str
    permalink: str


@dataclass(frozen=True, slots=True)
class Issue:
    """A rendered digest: the same for every recipient until the per-recipient splice."""

    id: str
    list_name: str
    period: str
    subject: str
    html: str
    """HTML with CSS inlined; per-recipient placeholders still in it."""
    text: str
    """Plain-text twin; per-recipient placeholders still in it."""
    posts: tuple[PostRef, ...] = ()
    warnings: tuple[str, ...] = ()
    """What rendering left out and why (an image no client could show); not stored."""


@dataclass(frozen=True, slots=True)
class Recipient:
    """One subscriber row, its address validated and normalised."""

    email: str
    name: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)
    """Every other CSV column, available to templates as ``subscriber.<column>``."""
    line: int = 0
    """Line of the subscriber file the row came from (0 for addresses given on the command line)."""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One recipient's message, ready for any transport.

    ``data`` is wire-ready: CRLF line ends, no line longer than 998 octets, and no line that
    starts with ``.``, so an SMTP client can send it after DATA without dot-stuffing it again.
    """

    email: str
    """Envelope recipient (the subscriber's normalised address)."""
    message_id: str
    """The Message-ID header value, with angle brackets."""
    data: bytes
    sender: str = ""
    """The envelope sender (MAIL FROM) of this message alone: its VERP return path when
    ``inbox.bounce_address`` is set; empty means the list's ``from`` address."""


class IssueStatus(enum.StrEnum):
    """Where an issue stands in the ledger."""

    OPEN = "open"
    """Stored and not finished: partly delivered, to be resumed by the next run."""
    FINISHED = "finished"
    SKIPPED = "skipped"
    """Recorded as not mailed (an empty period), so it is never due again."""

    @property
    def handled(self) -> bool:
        """Done with: never due again."""
        return self is not IssueStatus.OPEN


class ProblemKind(enum.StrEnum):
    """Why a subscriber row is not mailed."""

    INVALID = "invalid"
    DUPLICATE = "duplicate"
    SUPPRESSED = "suppressed"


class DeliveryStatus(enum.StrEnum):
    """Where one message to one address stands in the ledger."""

    QUEUED = "queued"
    """Attempted: recorded before its SMTP transaction, so a crash re-sends it (at most once)."""
    SENT = "sent"
    FAILED_TEMPORARY = "failed_temporary"
    """Deferred (4xx, dropped connection): the next run tries again."""
    FAILED_PERMANENT = "failed_permanent"
    SUPPRESSED = "suppressed"
    """Not sent: the address unsubscribed or bounced before its message started."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """The ledger's record of one message to one address."""

    issue_id: str
    email: str
    status: DeliveryStatus
    attempts: int = 0
    last_code: int | None = None
    last_reply: str = ""
    message_id: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    relay: str | None = None
    """The relay that gave the last outcome (accepted it, when sent); None without one."""
