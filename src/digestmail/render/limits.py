"""Guards around CSS inlining: an issue is sent whole or not at all.

A single 50 MB word once cut the HTML part off silently: lxml (inside premailer) stops at a
text node past its limit and returns what it has parsed so far, so two tips and the unsubscribe
footer were missing from a digest that went out with exit 0. Two checks stop that:

- a hard size limit, checked before inlining (premailer is slow on huge input and is where the
  loss happens) and after it (inlining adds ``style`` attributes), naming the post that made
  the HTML so large;
- a completeness check: every per-recipient token, personal block and tip link the template
  rendered must still be in the inlined HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import quote

from digestmail.errors import TemplateError
from digestmail.models import Selection
from digestmail.render import placeholders

MAX_HTML_BYTES = 512 * 1024
"""The largest HTML part digestmail sends: five times Gmail's clip (102 KB), already warned
about. Real digests are a few dozen KB; anything near this is a pasted dump, and a single post
just under the content reader's 1 MiB cap can never reach a reader through it."""

_TOKENS: dict[str, str] = {
    placeholders.Slot.UNSUBSCRIBE_URL.value: "the unsubscribe link",
    placeholders.Slot.EMAIL.value: "the recipient's address",
    placeholders.Slot.NAME.value: "the recipient's name",
    placeholders.PERSONAL_START: "the personal footer",
    placeholders.PERSONAL_END: "the personal footer",
}
"""What the template renders for every recipient, and how to name it when it went missing."""


@dataclass(frozen=True, slots=True)
class TipSize:
    """One post's tip: how much of the HTML it brings (title, summary, link, image) and its link."""

    path: Path
    bytes: int
    url: str = ""


def tip_sizes(selection: Selection, tips: Sequence[Mapping[str, Any]]) -> list[TipSize]:
    """Each post's share of the HTML, for naming the culprit of an oversized issue.

    ``tips`` are the template's tip dicts, made from the selection's non-empty groups in order,
    so the posts and their tips pair up one to one.
    """
    posts = [p for g in selection.groups if g.posts for p in g.posts]
    sizes: list[TipSize] = []
    for post, tip in zip(posts, tips, strict=True):
        parts = (tip["title"], str(tip["summary_html"]), tip["url"], tip["thumbnail"])
        size = sum(len(part.encode("utf-8")) for part in parts)
        sizes.append(TipSize(post.path, size, tip["url"]))
    return sizes


def _kb(size: int) -> str:
    return f"{size / 1024:,.0f} KB"


def refuse_oversized(html: str, tips: Sequence[TipSize], *, stage: str) -> None:
    """Refuse HTML over :data:`MAX_HTML_BYTES`, naming the largest tip as the likely cause."""
    size = len(html.encode("utf-8"))
    if size <= MAX_HTML_BYTES:
        return
    message = (
        f"the digest's HTML is {_kb(size)} {stage}, more than the limit of "
        f"{_kb(MAX_HTML_BYTES)} (Gmail clips at 102 KB)"
    )
    if tips:
        largest = max(tips, key=lambda tip: tip.bytes)
        message += (
            f"; the largest tip is {largest.path} ({_kb(largest.bytes)}): shorten it, or end its "
            "summary early with <!--more-->"
        )
    raise TemplateError(message)


def _forms(url: str) -> tuple[str, ...]:
    """How a link may be written in HTML: as is, entity-escaped, or percent-encoded by lxml."""
    encoded = quote(url, safe=":/?#[]@!$&'()*+,;=%~")
    return tuple({url, escape(url), encoded, escape(encoded)})


def require_complete(rendered: str, inlined: str, *, tips: Sequence[TipSize]) -> None:
    """Refuse inlined HTML that lost anything the template rendered (see the module docstring).

    Only what the template did render is looked for: a theme need not link every tip.
    """
    lost: list[str] = []
    for token, what in _TOKENS.items():
        if inlined.count(token) < rendered.count(token):
            lost.append(what)
    for tip in tips:
        forms = _forms(tip.url)
        if any(form in rendered for form in forms) and not any(form in inlined for form in forms):
            lost.append(f"the tip of {tip.path}")
    if lost:
        unique = list(dict.fromkeys(lost))
        shown = ", ".join(unique[:5])
        more = f" and {len(unique) - 5} more" if len(unique) > 5 else ""
        raise TemplateError(
            "inlining the CSS lost part of the digest's HTML (a post too large for the HTML "
            f"parser?): {shown}{more} missing; refusing to send it incomplete"
        )
