"""Read a Hugo content directory into :class:`~digestmail.models.Post` objects, as Hugo would.

A per-post fault barrier: a file whose front matter cannot be parsed becomes a
:class:`~digestmail.errors.ContentError` (file and line) and every other post is still read, so
one typo does not hide the whole month. A post lacking a date or title is a warning, not an
error: it is listed, and selection leaves it out as ``incomplete``.

Whatever under the content dir cannot be read is such an error too, never a silent gap: a
folder the walk cannot list (permissions, an I/O error), a post that cannot be opened or has
vanished, and a ``.md`` name that is not a regular file (a FIFO would block the run). A skipped
folder used to finish an issue with three of four tips, or record a month as empty.

One post may cost only so much: a file over :data:`MAX_POST_BYTES` is an error naming its size,
not read; the front matter has caps of its own (:mod:`digestmail.content.frontmatter`).

Normalisation is a table of front-matter keys (with Hugo's aliases and fallbacks) rather than a
chain of ``if``s, so adding a key is one line and the Hugo rules stay visible in one place.
"""

from __future__ import annotations

import gc
import os
import re
import stat
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from digestmail.config import SiteConfig
from digestmail.config.hugo_settings import DATE_ALIASES, HugoSettings
from digestmail.content import parallel, permalinks
from digestmail.content.frontmatter import FrontMatterError, split
from digestmail.content.page_dates import PageFile, page_dates
from digestmail.content.summaries import summarize
from digestmail.content.titles import with_headlines
from digestmail.errors import ContentError
from digestmail.models import Post

CONTENT_SUFFIXES = (".md", ".markdown")

MAX_POST_BYTES = 1024 * 1024
"""The largest content file read (1 MiB). The longest real posts are a few dozen KiB and a digest
must stay under Gmail's 100 KB clip, so anything near this is a mistake (a pasted data dump, a
binary renamed ``.md``), and reading it whole would cost every run its memory and time."""

# os.open flags: never block on a FIFO or device named like a post (O_NONBLOCK does nothing
# to regular files), and never leak the descriptor into a child process.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)

# Hugo 0.111's date keys and their aliases; which key a date comes from, and in what order, is
# the site's ``[frontmatter]`` (``SiteConfig.hugo_settings.date_chains``, Hugo's defaults
# without a Hugo config): date <- publishDate <- lastmod, and so on.
# Keys with a Post field of their own; everything else goes to ``params``.
KNOWN_KEYS = frozenset(
    {"title", "slug", "url", "draft", "categories", "tags", "author", "thumbnail"}
    | set(DATE_ALIASES)
    | {alias for aliases in DATE_ALIASES.values() for alias in aliases}
)
# Go's strconv.ParseBool spellings of true; any other string (its false ones, and the ones it
# cannot parse, such as "yes") is false for Hugo's cast.ToBool.
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})


# A NamedTuple, not a frozen dataclass: as immutable, and defined at import without compiling
# six generated methods (about 1 ms a class, on every start of the command line).
class ContentResult(NamedTuple):
    """Every post that could be read, and one error for each that could not."""

    posts: tuple[Post, ...]
    errors: tuple[ContentError, ...]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value if _text(v))
    return str(value).strip()


def _raw_title(value: Any) -> str:
    """The title as Hugo keeps it: a string untouched (``"  Tipp "`` stays so), else as text."""
    return value if isinstance(value, str) else _text(value)


def _terms(value: Any) -> tuple[str, ...]:
    """A taxonomy as a tuple: a string or list, trimmed, empties and case-duplicates dropped."""
    items = value if isinstance(value, list) else [value]
    seen: set[str] = set()
    terms: list[str] = []
    for item in items:
        term = _text(item)
        if term and term.casefold() not in seen:
            seen.add(term.casefold())
            terms.append(term)
    return tuple(terms)


def _flag(value: Any, fmt: str) -> bool:
    """A front-matter flag (``draft``) as Hugo 0.111's ``cast.ToBool`` reads it.

    Quoted text is not YAML's yes/on: ``"yes"`` is false. A number counts only where Go
    decodes it as an ``int`` (YAML); TOML's int64 and JSON's float64 are false, as are floats,
    lists and maps. Checked against ``hugo list all``.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value in _GO_TRUE
    if isinstance(value, int):
        return fmt == "yaml" and value != 0
    return False


def _permalink(
    site: SiteConfig, meta: Mapping[str, Any], names: permalinks.PageNames, place: permalinks.Place
) -> str:
    url = _text(meta.get("url"))
    if url:  # as written: no language folder, no uglyURLs (checked with hugo 0.111)
        return permalinks.explicit_url(site.base_url, url)
    rules = site.hugo_settings
    accents = not rules.remove_path_accents
    section = names.section
    pattern = site.permalinks.get(section) if section else None
    path = permalinks.expand(pattern, names, accents=accents) if pattern else None
    if path is None:  # no pattern, or one Hugo drops (see permalinks.expand)
        path = permalinks.default_path(
            directory=place.directory, slug=names.slug, filename=names.filename, accents=accents
        )
    path = permalinks.finish(path, ugly=rules.ugly_urls)
    return permalinks.join(site.base_url, rules.language_prefix(place.language) + path)


def _key_line(text: str, key: str) -> int:
    """The file line where a top-level front-matter ``key`` is set (YAML, TOML or JSON), else 1."""
    pattern = re.compile(rf"""\s*["']?{re.escape(key)}["']?\s*[:=]""", re.IGNORECASE)
    for number, line in enumerate(text.split("\n"), start=1):
        if pattern.match(line):
            return number
    return 1


def _check_url(path: Path, text: str, meta: Mapping[str, Any]) -> None:
    """Hugo 0.111 refuses to build a site with ``url: "http(s)://..."``; so do we, per post.

    The test is Hugo's own: the value as written starts with ``http://`` or ``https://``
    (case-sensitive; other schemes and ``//host`` are taken as paths by Hugo and here).
    """
    url = meta.get("url")
    if isinstance(url, str) and url.startswith(("http://", "https://")):
        raise ContentError(
            f"url {url!r}: Hugo does not build a page whose url has a protocol (http*); "
            "use a path such as /veranstaltung/ (links to other sites belong in the text)",
            path=path,
            line=_key_line(text, "url"),
        )


def build_post(path: Path, text: str, *, site: SiteConfig) -> Post:
    """A Post from a file's text; raises :class:`ContentError` for unreadable front matter.

    Also for a front matter Hugo refuses to build (``url`` with a protocol), since such a post
    has no page on the site to link to.
    """
    try:
        doc = split(text)
    except FrontMatterError as exc:
        raise ContentError(exc.message, path=path, line=exc.line) from exc
    meta = doc.meta
    _check_url(path, text, meta)
    rules = site.hugo_settings
    place = permalinks.place_of(path, site.content_dir, rules)
    rel, directory, filename, bundle = place.rel, place.directory, place.filename, place.bundle
    found = page_dates(
        meta, rules.date_chains, site_tz=site.timezone, page=PageFile(filename, path)
    )
    dates = found.dates
    warnings = list(found.warnings)
    section = directory.split("/", 1)[0]  # a top-level bundle lives in the root section ""
    title = _raw_title(meta.get("title"))  # as written, spaces kept: Hugo lists it so
    slug = _text(meta.get("slug")) if found.filename_slug is None else found.filename_slug
    if dates["date"] is None:
        warnings.append("no date: set date (or publishDate) in the front matter")
    if not title.strip():
        warnings.append("no title: set title in the front matter")
    parts = summarize(doc.body)
    return Post(
        path=path,
        rel_path=rel,
        section=section,
        slug=slug,
        title=title,
        date=dates["date"],
        publish_date=dates["publishdate"],
        expiry_date=dates["expirydate"],
        lastmod=dates["lastmod"],
        draft=_flag(meta.get("draft", False), doc.format),
        categories=_terms(meta.get(rules.category_key)),
        tags=_terms(meta.get("tags")),
        author=_text(meta.get("author")),
        thumbnail=_text(meta.get("thumbnail")),
        summary=parts.summary,
        body=parts.body,
        permalink=_permalink(
            site,
            meta,
            permalinks.PageNames(dates["date"], section, title.strip(), slug, filename),
            place,
        ),
        params={k: v for k, v in meta.items() if k not in KNOWN_KEYS},
        bundle=bundle,
        truncated=parts.truncated,
        warnings=tuple(warnings),
        language=place.language,
    )


def _size_error(path: Path, size: int) -> ContentError:
    return ContentError(
        f"the file is {size:,} bytes; a post may have at most {MAX_POST_BYTES:,} bytes "
        f"({MAX_POST_BYTES // 1024} KiB): move large data out of the content folder",
        path=path,
    )


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, at most :data:`MAX_POST_BYTES`; OSError and ContentError as they come.

    Plain ``os.read`` calls sized by ``fstat``: asking for the cap each time would allocate
    1 MiB per post, and a buffered file object costs more than the read on small posts.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ContentError(
                "not a regular file (a pipe, socket or device named like a post): "
                "remove it or rename it so it does not end in .md",
                path=path,
            )
        if info.st_size > MAX_POST_BYTES:
            raise _size_error(path, info.st_size)
        chunks: list[bytes] = []
        total, want = 0, info.st_size + 1  # +1: a file that grew since fstat is noticed
        while chunk := os.read(fd, want):
            chunks.append(chunk)
            total += len(chunk)
            if total > MAX_POST_BYTES:
                raise _size_error(path, total)
            want = min(64 * 1024, MAX_POST_BYTES + 1 - total)
    finally:
        os.close(fd)
    return b"".join(chunks)


def read_post(path: Path, *, site: SiteConfig) -> Post:
    """Read one content file; raises :class:`ContentError` naming the file (and line)."""
    try:
        text = _read_bytes(path).decode("utf-8")  # bytes + decode: no text-layer cost per file
    except UnicodeDecodeError as exc:
        raise ContentError(f"not UTF-8 text ({exc.reason})", path=path) from exc
    except OSError as exc:
        raise ContentError(_cannot_read(exc, "file"), path=path) from exc
    return build_post(path, text, site=site)


def _cannot_read(exc: OSError, what: str) -> str:
    """The message for a file or folder the OS refused us, with what to do about it."""
    reason = exc.strerror or str(exc)
    if isinstance(exc, PermissionError):
        hint = f"make the {what} readable for the user running digestmail"
    elif isinstance(exc, FileNotFoundError):
        hint = f"the {what} vanished while it was read, or is a broken link; run again"
    else:
        hint = "check the disk; its posts would be missing from the digest"
    return f"cannot read this {what}: {reason} ({hint})"


def _ignored(name: str) -> bool:
    """Hugo's ``IgnoreFile`` for files and directories alike: ``.x``, ``#x`` and ``x~``.

    A leading '_' means nothing to Hugo except in ``_index.md``: ``_private.md`` and the
    files in ``_drafts/`` are published, so they are read here too.
    """
    return name.startswith((".", "#")) or name.endswith("~")


def _is_page(name: str) -> bool:
    return (
        name.endswith(CONTENT_SUFFIXES)
        and not _ignored(name)
        and name.split(".", 1)[0] != "_index"  # a list page (also _index.de.md), not a post
    )


def _first_per_page(names: list[str], rules: HugoSettings, *, bundle: bool) -> list[str]:
    """One file per page and language, the first by name, as ``hugo list`` shows.

    ``a.md`` and ``a.en.md`` are the same page when ``en`` is the default language; Hugo 0.111
    keeps ``a.en.md``. In a bundle every ``index.*`` is its page: ``index.md`` and
    ``index.fr.md`` (``fr`` no language) are one page, and Hugo keeps ``index.fr.md``.
    """
    seen: set[tuple[str, str]] = set()
    kept: list[str] = []
    for name in sorted(names):
        stem, language = permalinks.split_language(name.rsplit(".", 1)[0], rules)
        key = ("" if bundle else stem, language)
        if key not in seen:
            seen.add(key)
            kept.append(name)
    return kept


def iter_content_files(
    content_dir: Path,
    *,
    on_error: Callable[[ContentError], None] | None = None,
    rules: HugoSettings | None = None,
) -> Iterator[Path]:
    """Regular pages as Hugo finds them: ``*.md`` and bundles' ``index.md`` (``index.de.md``).

    Section lists (``_index.md``) are skipped, and so is every other Markdown file inside a
    leaf bundle, because Hugo treats those as the bundle's resources, not pages. ``rules``
    holds the content languages that tell translations (``a.de.md``) from names with a dot.

    A folder that cannot be listed is a :class:`ContentError` passed to ``on_error`` (raised
    when there is none), never skipped in silence as ``os.walk`` would: its posts are tips.
    """

    def walk_error(exc: OSError) -> None:
        folder = Path(exc.filename) if exc.filename else content_dir
        error = ContentError(_cannot_read(exc, "folder"), path=folder)
        if on_error is None:
            raise error from exc
        on_error(error)

    rules = rules or HugoSettings()
    for root, dirs, files in os.walk(content_dir, onerror=walk_error):
        dirs[:] = sorted(d for d in dirs if not _ignored(d))
        pages = [f for f in files if _is_page(f)]
        indexes = [f for f in pages if f.split(".", 1)[0] == "index"]
        folder = Path(root)  # parsed once; '/ name' parses only the name
        if indexes and folder != content_dir:
            dirs[:] = []  # a leaf bundle: everything below it is a resource
            for name in _first_per_page(indexes, rules, bundle=True):
                yield folder / name
            continue
        for name in _first_per_page(pages, rules, bundle=False):
            yield folder / name


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off while posts are read: it runs every 700 new objects and
    re-scans the growing heap each time, for cycles that plain post data never forms (15 % of
    the read on a 1,500-page site). Whatever cycles an error's traceback makes are collected
    once it is back on."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_posts(site: SiteConfig, *, jobs: int | None = None) -> ContentResult:
    """Every post under the content dir, sorted by ``rel_path``; errors collected, not raised.

    ``jobs`` processes read the files (:mod:`digestmail.content.parallel`); by default as many
    as pay and are safe here.
    """
    content_dir = site.content_dir
    if not content_dir.is_dir():
        error = ContentError("content directory not found (site.content_dir)", path=content_dir)
        return ContentResult((), (error,))
    errors: list[ContentError] = []
    paths = list(iter_content_files(content_dir, on_error=errors.append, rules=site.hugo_settings))
    jobs = parallel.plan_jobs(len(paths)) if jobs is None else jobs
    with _collector_paused():
        posts, read_errors = parallel.read_all(paths, partial(read_post, site=site), jobs=jobs)
    errors += read_errors
    posts = with_headlines(posts, site.placeholder_titles)
    posts.sort(key=lambda p: p.rel_path)
    errors.sort(key=lambda e: str(e.path))
    return ContentResult(tuple(posts), tuple(errors))
