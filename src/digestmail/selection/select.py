"""Choose an issue's posts, and say for every other post why it is not in it.

Eligibility follows Hugo building the site at the cut-off (the ``--now`` moment): Hugo leaves out
drafts, pages whose publish date is *after* now (``PublishDate.After(now)``; the publish date
falls back to ``date``) and pages whose expiry date is *before* now (``ExpiryDate.Before(now)``).
A post expiring exactly at the cut-off is therefore still published, as on the site.

Each left-out post carries exactly one reason, the first that applies in this order:
language, incomplete, category, draft, future, expired, sent, period -- the most fundamental
first, so an editor fixes the cause that matters (a missing date before a wrong month). A post
in another content language than the list's (``lists.X.language``) is not for this list at all,
so that comes first.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime

from digestmail.config import ListConfig
from digestmail.models import CategoryGroup, Excluded, Period, Post, PostRef, Reason, Selection


def is_published(post: Post, cutoff: datetime) -> Reason | None:
    """Why Hugo would not publish ``post`` at ``cutoff`` (draft, future, expired), else None."""
    if post.draft:
        return Reason.DRAFT
    if post.publish_date is not None and post.publish_date > cutoff:
        return Reason.FUTURE
    if post.expiry_date is not None and post.expiry_date < cutoff:
        return Reason.EXPIRED
    return None


def _first_category(post: Post, categories: tuple[str, ...]) -> str | None:
    return next((c for c in categories if post.in_category(c)), None)


def _newest_first(post: Post) -> tuple[datetime, str]:
    assert post.date is not None  # incomplete posts never reach the groups
    return post.date, post.rel_path


def select(
    posts: Iterable[Post],
    *,
    list_cfg: ListConfig,
    period: Period,
    cutoff: datetime,
    sent: Collection[PostRef] = (),
    late_since: datetime | None = None,
) -> Selection:
    """The posts of ``list_cfg``'s issue for ``period`` as of ``cutoff``.

    ``sent`` are posts an earlier issue of the list already carried (matched by path or by
    permalink, so a moved file is still recognised). With ``late_since``, posts dated in
    ``[late_since, period.start)`` that are published by now and were never sent are included
    too: they were still drafts or scheduled when their own period's issue went out.

    Groups follow the list's category order (a post in two of them appears once, in the
    first); within a group the newest post comes first. Categories without posts are omitted.
    """
    sent_paths = {ref.rel_path for ref in sent}
    sent_links = {ref.permalink for ref in sent}
    window_start = period.start
    if late_since is not None and late_since < period.start:
        window_start = late_since

    def reason_for(post: Post, category: str | None) -> Reason | None:
        if post.language and list_cfg.language and post.language != list_cfg.language:
            return Reason.LANGUAGE
        if post.date is None or post.incomplete:
            return Reason.INCOMPLETE
        if category is None:
            return Reason.CATEGORY
        unpublished = is_published(post, cutoff)
        if unpublished is not None:
            return unpublished
        if post.rel_path in sent_paths or post.permalink in sent_links:
            return Reason.SENT
        if not window_start <= post.date < period.end:
            return Reason.PERIOD
        return None

    chosen: dict[str, list[Post]] = {c: [] for c in list_cfg.categories}
    excluded: list[Excluded] = []
    for post in posts:
        category = _first_category(post, list_cfg.categories)
        reason = reason_for(post, category)
        if reason is not None:
            excluded.append(Excluded(post, reason))
        elif category is not None:
            chosen[category].append(post)
    groups = tuple(
        CategoryGroup(category, tuple(sorted(found, key=_newest_first, reverse=True)))
        for category, found in chosen.items()
        if found
    )
    return Selection(
        list_name=list_cfg.key,
        period=period,
        cutoff=cutoff,
        groups=groups,
        excluded=tuple(excluded),
    )
