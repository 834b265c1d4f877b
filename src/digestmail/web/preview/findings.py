"""The preview's own checks of the message a reader gets: what a mail client or filter minds.

Read from the sample message's HTML part: images (format, size attributes, alt text, a file of
the site that is missing), links (relative, ``http:``, a link text that is a bare URL, a page of
the site that does not exist), headings (one level at a time) and the subject's length. Each
finding is one line for an editor.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from digestmail.config import Config, ListConfig
from digestmail.models import Post
from digestmail.render.context import image_site
from digestmail.render.images import ImageSite

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


@dataclass(frozen=True, slots=True)
class SiteFiles:
    """What of the site a message may point at: its files (as the renderer finds images) and
    its pages (the posts' permalinks), to tell a missing image or a dead in-site link."""

    images: ImageSite
    """``static/`` and ``assets/`` of the site, and where the email-safe copies go."""
    content_dir: Path
    pages: frozenset[str]
    """The URL path of every post (:func:`_page_path`)."""
    bundles: tuple[tuple[str, Path], ...]
    """(URL path, folder) of each page bundle: its images live next to its ``index.md``."""
    generated: tuple[str, ...]
    """URL prefixes of what digestmail publishes itself (the archive, ``serve``): not checked."""

    @property
    def static(self) -> Path:
        return self.images.folders[0]


def site_files(config: Config, list_cfg: ListConfig, posts: Iterable[Post]) -> SiteFiles:
    """The site as the list's issue sees it; ``posts``: every post read, not only the issue's."""
    pages: set[str] = set()
    bundles: list[tuple[str, Path]] = []
    for post in posts:
        path = _page_path(post.permalink)
        pages.add(path)
        if post.bundle:
            bundles.append((path, post.path.parent))
    generated = tuple(url for url in (config.site.archive_url, config.web.base_url) if url)
    return SiteFiles(
        images=image_site(config, list_cfg),
        content_dir=config.site.content_dir,
        pages=frozenset(pages),
        bundles=tuple(bundles),
        generated=generated,
    )


def _page_path(url: str) -> str:
    """A URL's path, decoded, without ``index.html`` and the trailing slash: how pages compare."""
    path = unquote(urlsplit(url).path)
    path = path.removesuffix("index.html")
    return path.rstrip("/") or "/"


def _in_site(url: str, site: SiteFiles) -> str | None:
    """``url``'s path inside the site (no leading slash), or None when it is not a site URL
    or is one of digestmail's own (archive, serve)."""
    if any(url.startswith(prefix) for prefix in site.generated):
        return None
    base, found = urlsplit(site.images.base_url), urlsplit(url)
    if found.scheme not in ("http", "https") or found.netloc.lower() != base.netloc.lower():
        return None
    if not found.path.startswith(base.path):
        return None
    return unquote(found.path[len(base.path) :]).lstrip("/")


def _image_found(url: str, path: str, site: SiteFiles) -> bool:
    images = site.images
    if images.out_url and url.startswith(images.out_url):  # an email-safe copy
        return (images.out_dir / url[len(images.out_url) :]).is_file()
    if any((folder / path).is_file() for folder in images.folders):
        return True
    page = _page_path(url)
    for prefix, folder in site.bundles:
        if page.startswith(prefix.rstrip("/") + "/"):
            rest = page[len(prefix.rstrip("/")) + 1 :]
            if (folder / rest).is_file() or (folder / Path(rest).name).is_file():
                return True
    return False


def _missing_images(images: list[dict[str, str]], site: SiteFiles) -> Iterator[str]:
    for image in images:
        src = image.get("src", "")
        path = _in_site(src, site)
        if path is None or _image_found(src, path, site):
            continue
        folders = [str(f) for f in site.images.folders]
        yield (
            f"image {src}: its file is not on the site (in neither {', '.join(folders)} "
            "nor the page bundle)"
        )


def _is_page(path: str, page: str, site: SiteFiles) -> bool:
    """A page Hugo makes: a post, a file in ``static/``, the home page, a section's or a
    taxonomy's list page."""
    if page in site.pages or not path.strip("/"):
        return True
    static = site.static / path
    if static.is_file() or (static / "index.html").is_file():
        return True
    if (site.content_dir / path).is_dir():  # a section's list page
        return True
    return path.split("/", 1)[0] in ("tags", "categories")


def _dead_links(links: list[tuple[str, str]], site: SiteFiles) -> Iterator[str]:
    seen: set[str] = set()
    for href, _ in links:
        path = _in_site(href, site)
        if path is None or href in seen:
            continue
        seen.add(href)
        if not _is_page(path, _page_path(href), site):
            yield (
                f"link {href}: link target not found on the site "
                "(no post has this address, and no file in static/)"
            )


def find_problems(
    subject: str, html: str, *, config: Config, site: SiteFiles | None = None
) -> list[str]:
    """Every finding about the message; ``site`` adds the missing files and dead links."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    found = [
        *_images(collector.images),
        *_links(collector.links, config.site.base_url),
        *_headings(collector.headings),
    ]
    if site is not None:
        found.extend(_missing_images(collector.images, site))
        found.extend(_dead_links(collector.links, site))
    if len(subject) > SUBJECT_MAX:
        found.append(f"subject: {len(subject)} characters; phones show about {SUBJECT_MAX}")
    return found
