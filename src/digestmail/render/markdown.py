"""A post's Markdown as email-safe HTML and as readable plain text, from one parse.

Email needs what a web page does not: headings shifted below the digest's own ``h1``/``h2``,
absolute URLs (a mail client has no base URL), images that cannot overflow a phone screen, and a
plain-text twin with the same words. Raw HTML in a post is dropped (tags removed, text kept;
a ``<script>`` or ``<style>`` with its contents), as Hugo's default renderer omits it too, so a
post can never smuggle markup into the mail.
"""

from __future__ import annotations

import contextlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString
from markupsafe import Markup

from digestmail.render.images import Rendition
from digestmail.render.plaintext import STASH, TEXT_WIDTH, TextWriter
from digestmail.render.summary import cut_summary

EXTENSIONS = ("tables", "fenced_code", "sane_lists")
ImageHook = Callable[[str], "Rendition | None"]
"""Maps an image's absolute URL to what the email links, or None to leave the image out."""
HEADING_SHIFT = 2
"""A post's ``#`` becomes ``h3``: the digest's own ``h1`` and each tip's ``h2`` stand above it."""
IMAGE_WIDTH = 552
"""Pixel width given to images: the 600px column minus its padding."""

_SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel", ""})
_URL_SAFE = "/%:@!$&'()*+,;=~"
"""RFC 3986 reserved and sub-delimiter characters a path keeps; quote() adds ``-._`` and
alphanumerics. '%' stays so an existing escape is not escaped twice."""


class _GenderStar(InlineProcessor):
    """``Bürger*innen``: a star between two letters is text, never the start of emphasis."""

    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[str, int, int]:
        return "*", m.start(0), m.end(0)


class _DropHtml(InlineProcessor):
    """Inline raw HTML and comments disappear; the text around and between tags stays."""

    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[str, int, int]:
        return "", m.start(0), m.end(0)


class _PlainMail(InlineProcessor):
    """``<info@example.org>`` as a plain mailto link: entity obfuscation only hurts in mail."""

    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[ET.Element, int, int]:
        el = ET.Element("a")
        addr = m.group(1).removeprefix("mailto:")
        el.set("href", f"mailto:{addr}")
        el.text = AtomicString(addr)
        return el, m.start(0), m.end(0)


@dataclass
class _Result:
    text: str = ""
    truncated: bool = False


@dataclass
class _Options:
    base: str
    alt: str
    heading_shift: int
    width: int
    summary_words: int | None = None
    images: ImageHook | None = None
    result: _Result = field(default_factory=_Result)


class _EmailTree(Treeprocessor):
    """Shifts headings, absolutises URLs, sizes images, then renders the text twin."""

    def __init__(self, md: markdown.Markdown, options: _Options) -> None:
        super().__init__(md)
        self.options = options

    def run(self, root: ET.Element) -> None:
        opts = self.options
        for parent in list(root.iter()):
            for child in list(parent):
                if child.tag == "p" and not len(child) and not (child.text or "").strip():
                    parent.remove(child)
        if opts.summary_words is not None:
            opts.result.truncated = cut_summary(root, self._unstash, opts.summary_words)
        for el in root.iter():
            tag = el.tag
            if len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
                el.tag = f"h{min(int(tag[1]) + opts.heading_shift, 6)}"
            elif tag == "a":
                href = absolute_url(el.get("href", ""), opts.base)
                if href:
                    el.set("href", href)
                else:  # a javascript: or data: link is no link at all, just its words
                    el.tag = "span"
                    el.attrib.clear()
            elif tag == "img":
                src = absolute_url(el.get("src", ""), opts.base)
                if not src:  # nothing safe to show, no empty frame: just the alt text
                    alt = el.get("alt", "")
                    el.tag = "span"
                    el.attrib.clear()
                    el.text = alt
                    continue
                shown = opts.images(src) if opts.images is not None else Rendition(src)
                if shown is None:  # no client could show it, and no copy could be made
                    el.tag, el.text, el.tail = "span", "", el.tail
                    el.attrib.clear()
                    continue
                el.set("src", shown.url)
                if not el.get("alt"):
                    el.set("alt", el.get("title") or opts.alt)
                el.set("width", str(opts.width))
                if shown.width and shown.height:
                    el.set("height", str(max(1, round(shown.height * opts.width / shown.width))))
                el.set("style", "display:block;max-width:100%;height:auto;border:0;")
        opts.result.text = TextWriter(self.md).render(root)

    def _unstash(self, text: str) -> str | None:
        """The HTML a placeholder stands for (a code block), or None for ordinary text."""
        found = STASH.fullmatch(text.strip())
        if found is None:
            return None
        return str(self.md.htmlStash.rawHtmlBlocks[int(found.group(1))])


_LIST_ITEM = re.compile(r"( *)([-*+]|\d{1,9}[.)])( +)(.*)")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")


class _ListIndent(Preprocessor):
    """Re-indent nested lists from CommonMark's rule to Python-Markdown's four spaces.

    Hugo (Goldmark) nests an item, or continues one, when it is indented to the text of the item
    above: two spaces under ``- a``, three under ``1. a``. Python-Markdown needs four, and ran
    ``- a`` / ``  - b`` together into one flat list. Each nested line is moved to four spaces per
    level (plus whatever it has beyond the item's text column, so code inside an item stays
    code); four-space lists come out as they went in. Indented code (four spaces more than the
    text it belongs to) and fenced code pass through untouched.
    """

    def run(self, lines: list[str]) -> list[str]:
        stack: list[tuple[int, int]] = []  # (text column, new indent of the item's text)
        out: list[str] = []
        fence = ""  # the fence that opened the code block we are in, if any
        previous_blank = False
        continued = False  # the item goes on with a paragraph of its own (after a blank line)
        for line in lines:
            found = _FENCE.match(line)
            if fence:
                out.append(line)
                if found and found.group(1)[0] == fence[0] and len(found.group(1)) >= len(fence):
                    fence = "" if not found.group(2).strip() else fence
                continue
            if found and not (found.group(1)[0] == "`" and "`" in found.group(2)):
                fence = found.group(1)
                out.append(line)
                continue
            if not line.strip():
                out.append(line)
                previous_blank = True
                continue
            indent = len(line) - len(line.lstrip(" "))
            item = _LIST_ITEM.fullmatch(line)
            while stack and indent < stack[-1][0]:
                if item is None and not previous_blank:
                    break  # a lazy continuation line of the item's paragraph
                stack.pop()
            code_from = stack[-1][0] + 4 if stack else 4  # this far in, a line is code
            if item is not None and indent < code_from:
                marker, gap = item.group(2), item.group(3)
                new = stack[-1][1] if stack else indent
                stack.append((indent + len(marker) + len(gap), new + 4))
                if continued:  # Python-Markdown would read the item as more of that text
                    out.append("")
                out.append(" " * new + marker + " " + item.group(4))
                continued = False
            elif stack and indent >= stack[-1][0]:
                column, new = stack[-1]
                out.append(" " * (new + indent - column) + line.lstrip(" "))
                continued = continued or previous_blank  # a paragraph of its own in the item
            else:
                if previous_blank:
                    stack.clear()
                out.append(line)
                continued = False
            previous_blank = False
        return out


def _hugo_extensions() -> list[Extension]:
    """What Hugo's Goldmark does by default beyond Python-Markdown: ``~~strike~~`` and bare
    URLs and addresses as links (``linkify``). Subscript ``~x~`` is not Hugo's: kept as text."""
    from pymdownx.magiclink import MagiclinkExtension
    from pymdownx.tilde import DeleteSubExtension

    return [DeleteSubExtension(subscript=False), MagiclinkExtension()]


class _EmailExtension(Extension):
    def __init__(self, options: _Options) -> None:
        super().__init__()
        self.options = options

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.preprocessors.register(_ListIndent(md), "list_indent", 28)
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.inlinePatterns.register(
            _DropHtml(r"(<(\/?[a-zA-Z][^<>@ ]*( [^<>]*)?|!--(?:(?!<!--|-->).)*--)>)", md),
            "drop_html",
            90,
        )
        # Contents of elements that are not text (a style sheet, a script) go with their tags.
        md.inlinePatterns.register(
            _DropHtml(r"(?i:<(script|style|template|noscript)\b[^>]*>.*?</\1\s*>)", md),
            "drop_html_element",
            95,
        )
        md.inlinePatterns.register(_PlainMail(r"<([^<> !]+@[^@<> ]+)>", md), "automail", 110)
        if "magic-mail" in md.inlinePatterns:  # it hides the address in entities: not in mail
            md.inlinePatterns.deregister("magic-mail")
            md.inlinePatterns.register(
                _PlainMail(r"(?<![\w.+@/-])([\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,})\b", md),
                "bare_mail",
                84.9,
            )
        md.inlinePatterns.register(_GenderStar(r"(?<=\w)\*(?=\w)", md), "gender_star", 65)
        md.treeprocessors.register(_EmailTree(md, self.options), "email_tree", -10)


def absolute_url(url: str, base: str) -> str:
    """``url`` made absolute against ``base`` and percent-encoded; ``""`` for schemes a mail
    must not carry.

    Encoded here, not left to the HTML serializer, so the plain-text part lists the same URL
    as the link: a space or an umlaut in a bare URL would end the link in a mail client.
    """
    url = url.strip()
    if not url:
        return ""
    joined = urljoin(base, url)
    scheme = urlsplit(joined).scheme.lower()
    return encode_url(joined) if scheme in _SAFE_SCHEMES else ""


_URL_AS_IS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
"""A URL made only of these (unreserved, reserved, escapes) needs no encoding."""


def encode_url(url: str) -> str:
    """Percent-encode what a URL may not carry as is (spaces, umlauts, quotes, ``<>``); an
    internationalised host becomes IDNA. Existing ``%XX`` escapes and reserved characters are
    kept."""
    if _URL_AS_IS.fullmatch(url):
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if not netloc.isascii():
        with contextlib.suppress(UnicodeError):
            netloc = netloc.encode("idna").decode("ascii")
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            quote(parts.path, safe=_URL_SAFE),
            quote(parts.query, safe=_URL_SAFE + "?"),
            quote(parts.fragment, safe=_URL_SAFE + "?"),
        )
    )


@dataclass(frozen=True, slots=True)
class RenderedMarkdown:
    html: Markup
    """Safe to put into an autoescaping template as is."""
    text: str
    """Wrapped plain text; links as numbered references listed at the end."""
    truncated: bool = False
    """Cut to a summary, with more to read on the site."""


def render_markdown(
    source: str,
    *,
    base: str,
    alt: str = "",
    width: int = TEXT_WIDTH,
    summary_words: int | None = None,
    images: ImageHook | None = None,
) -> RenderedMarkdown:
    """Render one post's Markdown; relative URLs resolve against ``base``.

    ``base`` is the post's permalink for a page bundle (its images live there) and the site's
    ``base_url`` otherwise. ``alt`` is the fallback alt text for images without one. With
    ``summary_words``, only Hugo's automatic summary of that many words is rendered
    (:mod:`.summary`). ``images`` decides each image's URL (:mod:`.images`): None leaves it out.
    """
    options = _Options(
        base=base,
        alt=alt,
        heading_shift=HEADING_SHIFT,
        width=IMAGE_WIDTH,
        summary_words=summary_words,
        images=images,
    )
    md = markdown.Markdown(
        extensions=[*EXTENSIONS, *_hugo_extensions(), _EmailExtension(options)],
        output_format="html",
    )
    body = md.convert(source)
    text = TextWriter.wrap_all(options.result.text, width) if width else options.result.text
    return RenderedMarkdown(html=Markup(body), text=text, truncated=options.result.truncated)
