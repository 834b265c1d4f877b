"""The few HTML pages serve shows to readers: plain, self-contained, in the site's language.

Every value put into a page is escaped here, in one place. Pages carry no script, no external
resource and no cookie; the security headers (:data:`HEADERS`) keep browsers from sending the
token-bearing URL on as a referrer, caching the page, or loading anything from elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape

from starlette.responses import HTMLResponse

HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
}

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.5;color:#222}h1{font-size:1.4rem}button{font-size:1rem;padding:.5rem 1rem;"
    "cursor:pointer}"
)


@dataclass(frozen=True, slots=True)
class Form:
    """A form of one button that POSTs ``fields`` (hidden) to ``action``."""

    action: str
    button: str
    fields: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True, slots=True)
class Page:
    """One page: a title, paragraphs of text, and optionally a form with one button."""

    language: str
    title: str
    paragraphs: Sequence[str] = ()
    form: Form | None = None
    after: Sequence[str] = field(default=())
    """Paragraphs below the form (the confirmation's "subscribe again")."""
    form_after: Form | None = None


def _form(form: Form) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in form.fields
    )
    return (
        f'<form method="post" action="{escape(form.action)}">{hidden}'
        f'<button type="submit">{escape(form.button)}</button></form>'
    )


def render(page: Page) -> str:
    """The page as a complete HTML document; every value escaped."""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(page.language)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="robots" content="noindex">',
        f"<title>{escape(page.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(page.title)}</h1>",
    ]
    parts += [f"<p>{escape(text)}</p>" for text in page.paragraphs]
    if page.form is not None:
        parts.append(_form(page.form))
    parts += [f"<p>{escape(text)}</p>" for text in page.after]
    if page.form_after is not None:
        parts.append(_form(page.form_after))
    parts.append("</body></html>")
    return "".join(parts)


def respond(page: Page, status: int = 200) -> HTMLResponse:
    """The page as a response with serve's security headers."""
    return HTMLResponse(render(page), status_code=status, headers=dict(HEADERS))
