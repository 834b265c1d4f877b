"""Permalinks the way Hugo 0.111 builds them, so the digest links to pages that exist.

Checked against ``hugo list all``: titles, slugs and file names are lower-cased, spaces become
one hyphen, punctuation other than ``. / \\ _ # + ~ - @`` is dropped, letters of every script
(umlauts, ß) are kept and percent-encoded in the URL. An explicit ``url`` is used as written
(not lower-cased). Without a pattern a page lives at ``/<dir>/<slug or file name>/``.

A ``[permalinks]`` pattern takes one more step in Hugo: the expanded path goes through Go's
``url.QueryUnescape`` and is sanitized again as a whole. So a '+' that ``urlize`` kept in a
title, slug or file name becomes a space and then a hyphen (``C++ Kurs`` -> ``c-kurs``,
``Klima+Stadt`` -> ``klima-stadt``), ``%2B`` becomes '+', and the pattern is lower-cased.

Go's URL type also reads everything after a path's first '#' as a fragment and prints a later
'#' as ``%23``, with or without a pattern (``C# & F#`` -> ``c#-f%23``).

A page's path always ends in '/' (a pattern ``/:filename`` too, and ``/x/:slug.html`` becomes
``/x/c.html/``); with ``uglyURLs`` it ends in ``.html`` instead (``/x/c.html.html``). With
``removePathAccents`` accents are dropped from the path (``Köln`` -> ``koln``; ``ß`` stays). A
page in another language than the default lives under ``/<lang>/``. An explicit ``url`` keeps
neither rule: Hugo 0.111 uses it as written. All checked with ``hugo list all``.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, unquote_plus

from digestmail.config.hugo_settings import HugoSettings

_ALLOWED_PUNCT = frozenset("./\\_#+~-@")
_HEX = frozenset("0123456789abcdefABCDEF")
# Longest names first: the regex takes the first alternative that matches, and ":slug" must
# not eat the start of ":slugorfilename" (nor ":section" that of ":sections").
_TOKEN = re.compile(
    r":(yearday|year|monthname|month|weekdayname|weekday|day|sections|section"
    r"|title|slugorfilename|slug|filename|contentbasename)"
)
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# What Go's url.URL.String() leaves alone in a path (plus '#', which Hugo lets through).
_SAFE = "/#+~@-._!$&'()*,;=:%"


def _is_allowed(ch: str) -> bool:
    if ch in _ALLOWED_PUNCT:
        return True
    category = unicodedata.category(ch)
    return category[0] in "LM" or category == "Nd"


_ALLOWED_CACHE: dict[str, bool] = {}


def _allowed(ch: str) -> bool:
    """Go's IsLetter/IsDigit/IsMark or an allowed sign; memoised, titles repeat letters."""
    known = _ALLOWED_CACHE.get(ch)
    if known is None:
        known = _ALLOWED_CACHE[ch] = _is_allowed(ch)
    return known


def _lower(text: str) -> str:
    # Go lower-cases rune by rune (simple case mapping); Python's full mapping turns 'İ' into
    # two code points, so the one letter where they differ is mapped first.
    return text.replace("İ", "i").lower()


def _sanitize_slow(text: str) -> str:
    """Hugo's loop, rune by rune: the reference for every script."""
    out: list[str] = []
    prepend_hyphen = False
    was_hyphen = False
    n = len(text)
    for i, ch in enumerate(text):
        ok = _allowed(ch) or (
            ch == "%" and i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX
        )
        if ok:
            was_hyphen = ch == "-"
            if prepend_hyphen:
                if not was_hyphen:
                    out.append("-")
                prepend_hyphen = False
            out.append(ch)
        elif out and not was_hyphen and ch.isspace():
            prepend_hyphen = True
    return "".join(out)


# The same rule word by word for Latin-1 text (German titles): runs of allowed characters,
# separated by gaps; a gap holding white space becomes one hyphen unless a hyphen is beside it.
_LATIN1_GAP = re.compile(
    r"([^0-9A-Za-z_\u00aa\u00b5\u00ba\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff./\\#+~@-]+)"
)
_SPACE = re.compile(r"[\t\n\v\f\r \x85\xa0]")  # Go's unicode.IsSpace in Latin-1


def sanitize(text: str) -> str:
    """Hugo's ``UnicodeSanitize``: keep letters, digits, marks and a few signs; spaces -> '-'."""
    if "%" in text or max(text, default="a") > "\u00ff":
        return _sanitize_slow(text)
    parts = _LATIN1_GAP.split(text)
    out: list[str] = []
    for i in range(0, len(parts), 2):
        run = parts[i]
        if not run:
            continue
        if out and _SPACE.search(parts[i - 1]) and out[-1][-1] != "-" and run[0] != "-":
            out.append("-")
        out.append(run)
    return "".join(out)


# Names made only of these (most file and folder names) come out of sanitize and quote as they
# went in: urlize is then just lower-casing.
_UNCHANGED_BUT_CASE = re.compile(r"[A-Za-z0-9_./~-]*")


def urlize(text: str) -> str:
    """Hugo's ``urlize`` of a title, slug or path, percent-encoded as in ``.Permalink``."""
    if _UNCHANGED_BUT_CASE.fullmatch(text):
        return text.lower()
    return quote(_lower(sanitize(text)), safe=_SAFE)


_urlize_folder = functools.lru_cache(maxsize=1024)(urlize)
"""Folders repeat for every post in them: their URL form is worked out once."""


def escape_path(path: str) -> str:
    """Percent-encode an explicit ``url`` the way Go's URL type prints it (case kept)."""
    return quote(path, safe=_SAFE)


def _with_trailing_slash(path: str) -> str:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if path.endswith("/") or "." in last:
        return path
    return path + "/"


def join(base_url: str, path: str) -> str:
    """``base_url`` (ending in '/') plus a site path; the base's own path is kept, as Hugo does."""
    return base_url + path.lstrip("/")


def explicit_url(base_url: str, url: str) -> str:
    """The permalink for front matter ``url``: verbatim, under the base URL, '/'-terminated."""
    return join(base_url, escape_path(_with_trailing_slash("/" + url.lstrip("/"))))


def split_language(stem: str, rules: HugoSettings) -> tuple[str, str]:
    """(name, language) of a file name without extension, as Hugo 0.111 reads it.

    ``post.de`` is ``post`` in German only when ``de`` is a content language (case counts):
    otherwise ``.de`` is part of the name and the page is in the default language.
    """
    name, dot, suffix = stem.rpartition(".")
    if dot and suffix in rules.languages:
        return name, suffix
    return stem, rules.default_language


# A NamedTuple, not a frozen dataclass: as immutable, and defined at import without compiling
# six generated methods (about 1 ms a class, on every start of the command line).
class Place(NamedTuple):
    """Where a page sits: path relative to the content dir, its directory, name and language."""

    rel: str
    directory: str
    filename: str
    """The name Hugo uses for ``:filename`` and the default path: no extension, no language
    suffix; a bundle's folder name."""
    bundle: bool
    language: str


def place_of(path: Path, content_dir: Path, rules: HugoSettings) -> Place:
    """Where the file at ``path`` sits as a page: ``dir/index.de.md`` is a bundle in German."""
    base, full = str(content_dir) + os.sep, str(path)
    if full.startswith(base):  # the common case, without pathlib's parsing per post
        rel = full[len(base) :].replace(os.sep, "/")
    else:
        rel = path.relative_to(content_dir).as_posix()
    directory, _, name = rel.rpartition("/")
    stem, language = split_language(name.rsplit(".", 1)[0], rules)
    if name.split(".", 1)[0] == "index" and directory:  # index.md, index.de.md: a bundle
        parent, _, bundle_name = directory.rpartition("/")
        return Place(rel, parent, bundle_name, True, language)
    return Place(rel, directory, stem, False, language)


_ZERO_TIME = datetime(1, 1, 1)  # Go's zero time: what Hugo expands for an undated page


class PageNames(NamedTuple):
    """What a permalink pattern's tokens are filled from."""

    date: datetime | None
    section: str
    title: str
    slug: str
    filename: str


class _Parts(NamedTuple):
    date: datetime
    section: str
    title: str
    slug: str
    filename: str


_EXPANDERS: Mapping[str, Callable[[_Parts], str]] = {
    "year": lambda p: str(p.date.year),
    "month": lambda p: f"{p.date.month:02d}",
    "monthname": lambda p: p.date.strftime("%B").lower(),
    "day": lambda p: f"{p.date.day:02d}",
    "weekday": lambda p: str((p.date.weekday() + 1) % 7),
    "weekdayname": lambda p: p.date.strftime("%A").lower(),
    "yearday": lambda p: str(p.date.timetuple().tm_yday),
    "section": lambda p: urlize(p.section),
    "sections": lambda p: urlize(p.section),
    "title": lambda p: urlize(p.title),
    "slug": lambda p: urlize(p.slug or p.title),
    "slugorfilename": lambda p: urlize(p.slug or p.filename),
    "filename": lambda p: urlize(p.filename),
    "contentbasename": lambda p: urlize(p.filename),
}
_SLASHES = re.compile(r"/{2,}")


def _query_unescape(text: str) -> str | None:
    """Go's ``url.QueryUnescape``: '+' is a space, ``%XX`` a byte; ``None`` where Go errs.

    Bytes that are not UTF-8 become U+FFFD, which the sanitizer then drops, as Go's does.
    """
    if _BAD_ESCAPE.search(text):
        return None
    return unquote_plus(text, errors="replace")


def remove_accents(text: str) -> str:
    """Hugo's ``removePathAccents``: decompose, drop the combining marks (Mn), recompose."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", kept)


def finish(path: str, *, ugly: bool) -> str:
    """The page path as Hugo writes it: '/'-terminated, or ``.html`` with ``uglyURLs``."""
    if ugly:
        trimmed = path.rstrip("/")
        return (trimmed or "/index") + ".html"
    return path if path.endswith("/") else path + "/"


def expand(pattern: str, names: PageNames, *, accents: bool = True) -> str | None:
    """Expand a ``[permalinks]`` pattern; ``:slug`` falls back to the title, as in Hugo 0.111.

    A missing date expands like Go's zero time (year 1, January 1st), which is what Hugo
    writes for an undated page. Like Hugo, the expanded path is query-unescaped and then
    urlized once more as a whole (see the module docstring). ``None`` when the unescape fails
    (a '%' in the pattern without two hex digits): Hugo then ignores the pattern, and the page
    gets its :func:`default_path`.
    """
    parts = _Parts(names.date or _ZERO_TIME, names.section, names.title, names.slug, names.filename)
    expanded = _query_unescape(_TOKEN.sub(lambda m: _EXPANDERS[m.group(1)](parts), pattern))
    if expanded is None:
        return None
    if not accents:
        expanded = remove_accents(expanded)
    return _fragment_hashes(urlize(_SLASHES.sub("/", "/" + expanded)))


def _fragment_hashes(path: str) -> str:
    """Go's URL type reads everything after the first '#' as a fragment and prints a '#' in it
    as ``%23``: Hugo links ``C# & F#`` as ``c#-f%23``."""
    head, mark, fragment = path.partition("#")
    return head + mark + fragment.replace("#", "%23")


def default_path(*, directory: str, slug: str, filename: str, accents: bool = True) -> str:
    """Hugo's path for a regular page with no pattern: its directory, then slug or file name.

    ``accents=False`` is ``removePathAccents``.
    """
    keep = (lambda text: text) if accents else remove_accents
    parts = [_urlize_folder(keep(directory))] if directory else []
    parts.append(urlize(keep(slug)) if slug else urlize(keep(filename)))
    return _fragment_hashes("/" + "/".join(p.strip("/") for p in parts if p.strip("/")) + "/")
