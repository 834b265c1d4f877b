"""The preview's own checks of the message a reader gets: what a mail client or filter minds.

Read from the sample message's HTML part: images (format, size attributes, alt text), links
(relative, ``http:``, a link text that is a bare URL), headings (one level at a time) and the
subject's length. Each finding is one line for an editor.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urlsplit

from digestmail.config import Config

SUBJECT_MAX = 70
"""Characters most phone mail apps show of a subject before cutting it off."""
IMAGE_FORMATS = (".png", ".jpg", ".jpeg", ".gif")
"""What every mail client shows; WebP, SVG and AVIF are missing in Outlook or Gmail."""


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str]] = []
        self.links: list[tuple[str, str]] = []
        self.headings: list[int] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "img":
            self.images.append(values)
        elif tag == "a":
            self._href, self._text = values.get("href", ""), []
        elif len(tag) == 2 and tag[0] == "h" and tag[1] in "123456":
            self.headings.append(int(tag[1]))

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def _images(images: list[dict[str, str]]) -> Iterator[str]:
    for image in images:
        src = image.get("src", "")
        name = src.rsplit("/", 1)[-1][:60] or "(no src)"
        path = urlsplit(src).path.lower()
        if src.startswith("data:"):
            yield f"image {name[:30]}...: embedded as data: (Gmail and Outlook do not show it)"
        elif not path.endswith(IMAGE_FORMATS):
            yield f"image {name}: not PNG, JPEG or GIF; some mail clients will not show it"
        if "alt" not in image:
            yield f"image {name}: no alt text (shown when images are blocked, read aloud)"
        if not image.get("width"):
            yield f"image {name}: no width; Outlook shows it at its full size"


def _links(links: list[tuple[str, str]], site: str) -> Iterator[str]:
    for href, text in links:
        scheme = urlsplit(href).scheme.lower()
        if not href or href.startswith("#"):
            yield f"link {text or href!r}: goes nowhere in an email"
        elif scheme == "":
            yield f"link {href}: relative; it cannot work in an email (use {site}...)"
        elif scheme == "http":
            yield f"link {href}: http:, not https:"
        if text and text == href and scheme in ("http", "https"):
            yield f"link {href}: its text is a bare URL; name what it leads to"


def _headings(levels: list[int]) -> Iterator[str]:
    previous = 0
    for level in levels:
        if previous and level > previous + 1:
            yield f"heading h{level} follows h{previous}: a level is skipped"
        previous = level


def find_problems(subject: str, html: str, *, config: Config) -> list[str]:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    found = [
        *_images(collector.images),
        *_links(collector.links, config.site.base_url),
        *_headings(collector.headings),
    ]
    if len(subject) > SUBJECT_MAX:
        found.append(f"subject: {len(subject)} characters; phones show about {SUBJECT_MAX}")
    return found
