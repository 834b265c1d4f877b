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
from typing import TYPE_CHECKING, Any


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


# The values of sending live in mail_models, defined only when first asked for (PEP 562).
if TYPE_CHECKING:
    from digestmail.mail_models import Delivery as Delivery
    from digestmail.mail_models import DeliveryStatus as DeliveryStatus
    from digestmail.mail_models import Issue as Issue
    from digestmail.mail_models import IssueStatus as IssueStatus
    from digestmail.mail_models import OutgoingMessage as OutgoingMessage
    from digestmail.mail_models import ProblemKind as ProblemKind
    from digestmail.mail_models import Recipient as Recipient

_MAIL_MODELS = frozenset(
    {
        "Delivery",
        "DeliveryStatus",
        "Issue",
        "IssueStatus",
        "OutgoingMessage",
        "ProblemKind",
        "Recipient",
    }
)


def __getattr__(name: str) -> Any:
    if name in _MAIL_MODELS:
        from digestmail import mail_models

        return getattr(mail_models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
