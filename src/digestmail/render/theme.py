"""Render a selection into an :class:`Issue`: Markdown, the theme's templates, CSS inlining, once.

Everything expensive happens here, a single time per issue; what differs per recipient is left as
tokens (:mod:`.placeholders`) for :mod:`digestmail.message.factory` to splice in cheaply.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup
from premailer import Premailer

from digestmail.config import Config, ListConfig
from digestmail.errors import ConfigError, HeaderInjectionError, TemplateError
from digestmail.header_values import check_header_value
from digestmail.models import Issue, Post, PostRef, Selection
from digestmail.render import limits, placeholders
from digestmail.render.context import template_context
from digestmail.render.plaintext import TEXT_WIDTH, wrap_text

HTML_TEMPLATE = "{name}.html.j2"
TEXT_TEMPLATE = "{name}.txt.j2"
CSS_FILE = "{name}.css"
MAX_HTML_BYTES = limits.MAX_HTML_BYTES
GMAIL_CLIP_BYTES = 102 * 1024
"""Gmail hides everything after ~102 KB of HTML behind a "message clipped" link."""


@dataclass(frozen=True, slots=True)
class Theme:
    """Where a list's templates come from: the folders searched, and the file-name stem."""

    name: str
    folders: tuple[Path, ...]

    def file(self, pattern: str) -> str:
        return pattern.format(name=self.name)


def default_theme_dir() -> Path:
    """The packaged theme, ``digestmail/default_theme``.

    In a checkout that folder is a link to the top-level ``templates/`` (the project's agreed
    place for the theme); a wheel carries the files themselves.
    """
    return Path(str(resources.files("digestmail").joinpath("default_theme")))


def resolve_theme(config: Config, list_cfg: ListConfig) -> Theme:
    """``template`` is a theme name (project ``templates/``, then the default) or a folder path."""
    value = list_cfg.template.strip()
    candidate = config.project_dir / value
    if "/" in value or "\\" in value or value.startswith(".") or candidate.is_dir():
        if not candidate.is_dir():
            raise ConfigError(
                f"theme folder {candidate} does not exist",
                path=config.path,
                key=f"lists.{list_cfg.key}.template",
            )
        return Theme(name="digest", folders=(candidate,))
    if not value:
        raise ConfigError(
            "must name a theme", path=config.path, key=f"lists.{list_cfg.key}.template"
        )
    return Theme(name=value, folders=(config.project_dir / "templates", default_theme_dir()))


def _environment(theme: Theme) -> jinja2.Environment:
    loader = jinja2.FileSystemLoader([str(f) for f in theme.folders])
    env = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "xml", "html.j2", "htm.j2"), default=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = wrap_text
    env.filters["urlencode"] = _urlencode
    return env


def _urlencode(value: Any) -> str:
    """Jinja's ``urlencode``, also for recipient values that are only filled in per message.

    ``{{ recipient.email | urlencode }}`` sees a token, not the address: the token's
    URL-encoded variant tells the message factory to percent-encode the value it fills.
    A token inside a longer string (``("?e=" ~ recipient.email) | urlencode``) is handled the
    same way, the text around it encoded here.
    """
    if isinstance(value, str) and placeholders.SLOT_PATTERN.search(value):
        pieces = placeholders.SLOT_PATTERN.split(value)
        out = [str(jinja2.filters.do_urlencode(pieces[0]))]
        for token, piece in zip(placeholders.SLOT_PATTERN.findall(value), pieces[1:], strict=True):
            out.append(placeholders.url_encoded(token))
            out.append(str(jinja2.filters.do_urlencode(piece)) if piece else "")
        return "".join(out)
    return str(jinja2.filters.do_urlencode(value))


def _template_error(exc: Exception, name: str, theme: Theme) -> TemplateError:
    """Name the template file and line of a failure, whichever Jinja error it was."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where = f"{exc.filename or exc.name or name}:{exc.lineno}"
        return TemplateError(f"{where}: {exc.message}")
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else name
    if isinstance(exc, jinja2.TemplateNotFound):
        searched = ", ".join(str(f) for f in theme.folders)
        missing = f"{exc.name or name}: template not found (searched {searched})"
        # An {% include %} or {% extends %} of a missing file: say where it was asked for.
        return TemplateError(f"{where}: {missing}" if frames else missing)
    if isinstance(exc, jinja2.TemplateError):
        return TemplateError(f"{where}: {exc}")
    # A Python error inside an expression ("'period'" alone says nothing): name its kind.
    return TemplateError(f"{where}: {type(exc).__name__}: {exc}")


def _render(env: jinja2.Environment, theme: Theme, pattern: str, context: Mapping[str, Any]) -> str:
    name = theme.file(pattern)
    try:
        return env.get_template(name).render(context)
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError, KeyError) as exc:
        raise _template_error(exc, name, theme) from exc


def _css(env: jinja2.Environment, theme: Theme) -> Markup:
    """The theme's stylesheet, as data: it is not a template, so ``{#`` in CSS is harmless."""
    name = theme.file(CSS_FILE)
    assert env.loader is not None
    try:
        source, filename, _ = env.loader.get_source(env, name)
    except jinja2.TemplateNotFound as exc:
        raise _template_error(exc, name, theme) from exc
    _check_css(source, filename or name)
    return Markup(source.replace("</", "<\\/"))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _check_css(source: str, filename: str) -> None:
    """Refuse a stylesheet with syntax errors: premailer would silently drop whole rules.

    Only errors count; cssutils' warnings about unknown properties (``mso-*`` for Outlook) are
    expected in email CSS.
    """
    import cssutils

    logger = logging.getLogger("CSSUTILS")
    collect = _Collect()
    level, propagate, handlers = logger.level, logger.propagate, logger.handlers
    logger.handlers = [collect]  # cssutils' own handler would print every error to stderr
    logger.setLevel(logging.ERROR)
    logger.propagate = False
    try:
        cssutils.CSSParser(validate=False).parseString(source)
    finally:
        logger.handlers = handlers
        logger.setLevel(level)
        logger.propagate = propagate
    if collect.messages:
        raise TemplateError(_css_error(filename, collect.messages[0]))


_CSS_POSITION = re.compile(r"\s*\[(\d+):(\d+):[^\]]*\]\s*$")


def _css_error(filename: str, message: str) -> str:
    """``file:line:column: CSS syntax error: what`` from a cssutils message, which ends with
    ``[line:column: token]`` and may quote the whole rest of the stylesheet."""
    found = _CSS_POSITION.search(message)
    where = f"{filename}:{found.group(1)}:{found.group(2)}" if found else filename
    what = " ".join(message[: found.start()].split()) if found else " ".join(message.split())
    if len(what) > 160:
        what = what[:157] + "..."
    return f"{where}: CSS syntax error: {what}"


def render_subject(template: str, context: Mapping[str, Any], *, list_cfg: ListConfig) -> str:
    """The subject template in a sandbox; a result with a line break is refused, never sent."""
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)
    key = f"lists.{list_cfg.key}.subject"
    try:
        subject = env.from_string(template).render(context).strip()
    except jinja2.TemplateError as exc:
        raise TemplateError(f"{key}: {exc}") from exc
    try:
        return check_header_value("Subject", subject)
    except HeaderInjectionError as exc:
        raise HeaderInjectionError(f"{key}: {exc}") from exc


# --- inlining ---------------------------------------------------------------------------------


def inline_css(html: str) -> str:
    """Inline the theme's CSS with premailer, keeping media queries and ``!important``.

    ``strip_important=False`` keeps the mobile overrides inside ``@media`` working,
    ``allow_network=False`` means a theme can never make a render fetch anything, and cssutils'
    warnings about ``mso-*`` properties are silenced (they are for Outlook, not mistakes).
    """
    logging.getLogger("CSSUTILS").setLevel(logging.CRITICAL)
    inliner = Premailer(
        html,
        strip_important=False,
        allow_network=False,
        keep_style_tags=False,
        remove_classes=False,
        disable_validation=True,
        exclude_pseudoclasses=True,
        cssutils_logging_level=logging.CRITICAL,
        align_floating_images=False,
        # CSS "height:auto" (fluid images) must not replace an image's height attribute:
        # Outlook sizes images by their attributes alone.
        disable_basic_attributes=["height", "width"],
    )
    out: str = inliner.transform(pretty_print=False)
    if not out.lstrip().lower().startswith("<!doctype"):
        out = "<!DOCTYPE html>\n" + out
    return out


def _text_layout(text: str) -> str:
    """Squeeze runs of blank lines the templates leave and strip trailing spaces."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def render_issue(selection: Selection, *, config: Config, list_cfg: ListConfig) -> Issue:
    """Render one issue for every recipient: subject, inlined HTML and plain text.

    The result still holds :class:`~.placeholders.Slot` tokens where recipients differ. An
    issue whose HTML is too large, or lost anything while its CSS was inlined, is refused with
    a :class:`TemplateError` (:mod:`.limits`): a digest goes out whole or not at all.
    """
    theme = resolve_theme(config, list_cfg)
    env = _environment(theme)
    context, warnings = template_context(selection, config, list_cfg)
    subject = render_subject(list_cfg.subject, context, list_cfg=list_cfg)
    context["issue"]["subject"] = subject
    context["css"] = _css(env, theme)
    rendered = _render(env, theme, HTML_TEMPLATE, context)
    sizes = limits.tip_sizes(selection, context["tips"])
    limits.refuse_oversized(rendered, sizes, stage="before inlining its CSS")
    html = inline_css(rendered)
    limits.refuse_oversized(html, sizes, stage="with its CSS inlined")
    limits.require_complete(rendered, html, tips=sizes)
    text = _text_layout(_render(env, theme, TEXT_TEMPLATE, context))
    posts: Sequence[Post] = selection.posts
    return Issue(
        id=selection.issue_id,
        list_name=list_cfg.key,
        period=selection.period.key,
        subject=subject,
        html=html,
        text=text,
        posts=tuple(PostRef(rel_path=p.rel_path, permalink=p.permalink) for p in posts),
        warnings=tuple(warnings),
    )


__all__ = [
    "GMAIL_CLIP_BYTES",
    "MAX_HTML_BYTES",
    "TEXT_WIDTH",
    "Theme",
    "default_theme_dir",
    "inline_css",
    "render_issue",
    "render_subject",
    "resolve_theme",
]
