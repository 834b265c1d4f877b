"""Permalinks the way Hugo 0.111 builds them, so the digest links to pages that exist.

Checked against ``hugo list all``: titles, slugs and file names are lower-cased, spaces become
one hyphen, punctuation other than ``. / \\ _ # + ~ - @`` is dropped, letters of every script
(umlauts, ß) are kept and percent-encoded in the URL. An explicit ``url`` is used as written
(not lower-cased). Without a pattern a page lives at ``/<dir>/<slug or file name>/``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from urllib.parse import quote

_ALLOWED_PUNCT = frozenset("./\\_#+~-@")
_HEX = frozenset("0123456789abcdefABCDEF")
_TOKEN = re.compile(
    r":(year|month|monthname|day|weekday|weekdayname|yearday|section|sections"
    r"|title|slug|filename|contentbasename|slugorfilename)"
)
# What Go's url.URL.String() leaves alone in a path (plus '#', which Hugo lets through).
_SAFE = "/#+~@-._!$&'()*,;=:%"


def _allowed(ch: str) -> bool:
    if ch in _ALLOWED_PUNCT:
        return True
    return unicodedata.category(ch)[0] in "LM" or unicodedata.category(ch) == "Nd"


def _lower(text: str) -> str:
    # Go lower-cases rune by rune (simple case mapping); Python's full mapping turns 'İ' into
    # two code points, so the one letter where they differ is mapped first.
    return text.replace("İ", "i").lower()


@lru_cache(maxsize=4096)
def sanitize(text: str) -> str:
    """Hugo's ``UnicodeSanitize``: keep letters, digits, marks and a few signs; spaces -> '-'."""
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


def urlize(text: str) -> str:
    """Hugo's ``urlize`` of a title, slug or path, percent-encoded as in ``.Permalink``."""
    return quote(_lower(sanitize(text)), safe=_SAFE)


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


def _date_part(date: datetime | None, fmt: Callable[[datetime], str], zero: str) -> str:
    return fmt(date) if date is not None else zero


def expand(
    pattern: str,
    *,
    date: datetime | None,
    section: str,
    title: str,
    slug: str,
    filename: str,
) -> str:
    """Expand a ``[permalinks]`` pattern; ``:slug`` falls back to the title, as in Hugo 0.111.

    A missing date expands like Go's zero time (year 1, January 1st), which is what Hugo
    writes for an undated page.
    """
    values: Mapping[str, Callable[[], str]] = {
        "year": lambda: _date_part(date, lambda d: str(d.year), "1"),
        "month": lambda: _date_part(date, lambda d: f"{d.month:02d}", "01"),
        "monthname": lambda: _date_part(date, lambda d: d.strftime("%B").lower(), "january"),
        "day": lambda: _date_part(date, lambda d: f"{d.day:02d}", "01"),
        "weekday": lambda: _date_part(date, lambda d: str((d.weekday() + 1) % 7), "1"),
        "weekdayname": lambda: _date_part(date, lambda d: d.strftime("%A").lower(), "monday"),
        "yearday": lambda: _date_part(date, lambda d: str(d.timetuple().tm_yday), "1"),
        "section": lambda: urlize(section),
        "sections": lambda: urlize(section),
        "title": lambda: urlize(title),
        "slug": lambda: urlize(slug or title),
        "slugorfilename": lambda: urlize(slug or filename),
        "filename": lambda: urlize(filename),
        "contentbasename": lambda: urlize(filename),
    }
    path = _TOKEN.sub(lambda m: values[m.group(1)](), pattern)
    return re.sub(r"/{2,}", "/", "/" + path)


def default_path(*, directory: str, slug: str, filename: str) -> str:
    """Hugo's path for a regular page with no pattern: its directory, then slug or file name."""
    parts = [urlize(directory)] if directory else []
    parts.append(urlize(slug) if slug else urlize(filename))
    return "/" + "/".join(p.strip("/") for p in parts if p.strip("/")) + "/"
