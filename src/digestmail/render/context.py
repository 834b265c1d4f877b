"""The data a theme's templates see: the site, the list, the issue and each tip.

Every value from a post passes :func:`~.placeholders.defuse` on its way in, so no post can fill
a reader's hole; summaries are rendered here from Markdown (Hugo's automatic summary where the
post has no ``<!--more-->``), and images go through :mod:`.images` so each one is email-safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from babel.dates import format_date
from markupsafe import Markup

from digestmail.config import Config, ListConfig
from digestmail.models import Post, Selection
from digestmail.render import placeholders
from digestmail.render.images import ImageSite, Rendition, Renditions
from digestmail.render.labels import labels_for
from digestmail.render.markdown import IMAGE_WIDTH, absolute_url, render_markdown
from digestmail.selection.periods import period_label


def _date_label(moment: datetime | None, config: Config) -> str:
    if moment is None:
        return ""
    day: date = moment.astimezone(config.site.timezone).date()
    return format_date(day, "long", locale=config.site.language.replace("-", "_"))


def _tip(
    post: Post, config: Config, list_cfg: ListConfig, renditions: Renditions
) -> dict[str, Any]:
    base = post.permalink if post.bundle else config.site.base_url
    bundle = post.path.parent if post.bundle else None

    def email_safe(url: str) -> Rendition | None:
        return renditions.email_safe(url, bundle=bundle)

    shown = post.shown(use_headline=list_cfg.title_from == "auto")
    title = placeholders.defuse(shown.title)
    automatic = shown.summary is None  # no <!--more-->: Hugo's summary, cut from the body
    summary = render_markdown(
        placeholders.defuse(shown.body if shown.summary is None else shown.summary),
        base=base,
        alt=title,
        summary_words=config.site.summary_length if automatic else None,
        images=email_safe,
    )
    thumb = absolute_url(placeholders.defuse(post.thumbnail), base) if post.thumbnail else ""
    thumbnail = email_safe(thumb) if thumb else None
    return {
        "title": title,
        "subtitle": placeholders.defuse(shown.subtitle),
        "url": placeholders.defuse(post.permalink),
        "date": post.date,
        "date_label": _date_label(post.date, config),
        "author": placeholders.defuse(post.author),
        "summary_html": Markup(placeholders.defuse(str(summary.html))),
        "summary_text": placeholders.defuse(summary.text),
        "truncated": summary.truncated if automatic else shown.truncated,
        "thumbnail": thumbnail.url if thumbnail else "",
        "thumbnail_height": _shown_height(thumbnail),
        "categories": tuple(placeholders.defuse(c) for c in post.categories),
        "tags": tuple(placeholders.defuse(t) for t in post.tags),
        "params": _defused(post.params),
    }


def _defused(value: Any) -> Any:
    """Front-matter params for a theme, every string in them defused (nested lists and maps
    too): a theme may print any of them, and none may fill a reader's hole."""
    if isinstance(value, str):
        return placeholders.defuse(value)
    if isinstance(value, Mapping):
        return {key: _defused(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_defused(item) for item in value]
    return value


def web_url(config: Config, list_cfg: ListConfig, issue_id: str) -> str:
    """The archived copy's address, or ``""`` when the site publishes no archive."""
    base = config.site.archive_url
    if not base:
        return ""
    return (base if base.endswith("/") else base + "/") + f"{list_cfg.key}/{issue_id}.html"


def image_site(config: Config, list_cfg: ListConfig) -> ImageSite:
    """Where the list's images come from (the Hugo site) and where their renditions go."""
    site = config.site
    root = site.hugo_settings.root or config.project_dir  # static/ and assets/ live here
    archive = site.archive_url
    out_url = (archive if archive.endswith("/") else archive + "/") if archive else ""
    return ImageSite(
        base_url=site.base_url,
        folders=(root / "static", root / "assets"),
        out_dir=site.archive_dir / list_cfg.key / "images",
        out_url=out_url + f"{list_cfg.key}/images/" if out_url else "",
    )


def template_context(
    selection: Selection, config: Config, list_cfg: ListConfig
) -> tuple[dict[str, Any], list[str]]:
    """What the templates see, and the warnings about images left out of it."""
    renditions = Renditions(image_site(config, list_cfg))
    language = config.site.language
    groups: list[dict[str, Any]] = [
        {
            "category": g.category,
            "label": g.category[:1].upper() + g.category[1:],
            "tips": [_tip(p, config, list_cfg, renditions) for p in g.posts],
        }
        for g in selection.groups
        if g.posts
    ]
    tips: list[dict[str, Any]] = [t for g in groups for t in g["tips"]]
    issue: dict[str, Any] = {
        "id": selection.issue_id,
        "period": selection.period.key,
        "period_label": period_label(selection.period, language),
        "tip_count": len(tips),
        "web_url": web_url(config, list_cfg, selection.issue_id),
        "preheader": tips[0]["title"] if tips else "",
    }
    context = {
        "site": {
            "title": config.site.title,
            "base_url": config.site.base_url,
            "language": language,
        },
        "list": {"key": list_cfg.key, "name": list_cfg.name},
        "issue": issue,
        "groups": groups,
        "tips": tips,
        "labels": labels_for(language),
        "recipient": {
            "email": placeholders.Slot.EMAIL.value,
            "name": placeholders.Slot.NAME.value,
            "unsubscribe_url": placeholders.Slot.UNSUBSCRIBE_URL.value,
        },
        "subscriber": placeholders.SubscriberFields(),
        "personal_start": Markup(placeholders.PERSONAL_START),
        "personal_end": Markup(placeholders.PERSONAL_END),
        "text_personal_start": placeholders.TEXT_PERSONAL_START,
        "text_personal_end": placeholders.TEXT_PERSONAL_END,
    }
    return context, renditions.warnings


def _shown_height(image: Rendition | None) -> int | None:
    """The height of an image shown :data:`~.markdown.IMAGE_WIDTH` wide, when its size is known."""
    if image is None or not image.width or not image.height:
        return None
    return max(1, round(int(image.height) * IMAGE_WIDTH / int(image.width)))
