"""A page's four dates (date, publishDate, lastmod, expiryDate) by the site's ``[frontmatter]``.

Hugo fills each date from the first handler of its chain that has one: a front-matter key, the
date a file name starts with (``:filename``), the file's modification time (``:fileModTime``)
or Git (``:git``, skipped here). How one value is read as a date is :mod:`.dates`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, NamedTuple

from digestmail.content.dates import DateValueError, to_datetime


# A NamedTuple, not a frozen dataclass: as immutable, and defined at import without compiling
# six generated methods (about 1 ms a class, on every start of the command line).
class PageFile(NamedTuple):
    """What the file handlers of a chain need: ``:filename`` and ``:fileModTime``."""

    name: str
    """The file name without extension and language (a bundle: its folder's name)."""
    path: Path


class PageDates(NamedTuple):
    """The four dates (``None`` = Hugo's zero date), and the slug ``:filename`` gave, if any."""

    dates: Mapping[str, datetime | None]
    filename_slug: str | None
    warnings: tuple[str, ...]


def date_and_slug_from_filename(name: str, site_tz: tzinfo) -> tuple[datetime | None, str]:
    """Hugo's ``dateAndSlugFromBaseFilename``: ``2021-05-02-name`` -> (2021-05-02, ``name``).

    The first ten characters must be a date; the rest, trimmed of ``' -_'``, is the slug.
    """
    if len(name) < 10:
        return None, ""
    try:
        found = to_datetime(name[:10], site_tz)
    except DateValueError:
        return None, ""
    return found, name[10:].strip(" -_")


_KEYS_OF: dict[int, tuple[Mapping[str, tuple[str, ...]], frozenset[str] | None]] = {}


def _only_keys(chains: Mapping[str, tuple[str, ...]]) -> frozenset[str] | None:
    """Every front-matter key of ``chains``, or None when a chain also asks the file itself
    (``:filename``, ``:filemodtime``); worked out once per set of chains (one a site)."""
    cached = _KEYS_OF.get(id(chains))
    if cached is None or cached[0] is not chains:
        idents = {ident for chain in chains.values() for ident in chain}
        files = any(ident in (":filename", ":filemodtime") for ident in idents)
        keys = None if files else frozenset(i for i in idents if not i.startswith(":"))
        if len(_KEYS_OF) > 16:  # a long-running preview re-reads its config on every save
            _KEYS_OF.clear()
        cached = _KEYS_OF[id(chains)] = (chains, keys)
    return cached[1]


def page_dates(
    meta: Mapping[str, Any],
    chains: Mapping[str, tuple[str, ...]],
    *,
    site_tz: tzinfo,
    page: PageFile,
) -> PageDates:
    """Each date from the first handler of its chain that has one, as Hugo's frontmatter does.

    A chain entry is a front-matter key (lower case, aliases already in the chain), or
    ``:filename`` (the date a file name starts with; it also sets the slug when the front
    matter has no ``slug`` key at all), ``:filemodtime`` (the file's modification time) or
    ``:git`` (skipped: no Git history is read; the config warned). A value Hugo cannot read is
    skipped with a warning, once per key, and the chain goes on.
    """
    keys = _only_keys(chains)
    if keys is not None and keys.isdisjoint(meta):  # most pages of a documentation site
        return PageDates(dict.fromkeys(chains), None, ())
    parsed: dict[str, datetime | None] = {}
    warnings: list[str] = []
    slug: str | None = None

    def from_key(key: str) -> datetime | None:
        if key not in parsed:
            raw = meta.get(key)
            value = None
            if raw is not None and raw != "":
                try:
                    value = to_datetime(raw, site_tz)
                except DateValueError as exc:
                    warnings.append(f"{key}: {exc}; Hugo ignores it")
            parsed[key] = value
        return parsed[key]

    out: dict[str, datetime | None] = {}
    for field, chain in chains.items():
        out[field] = None
        for ident in chain:
            if ident[:1] != ":":  # a front-matter key
                if ident not in meta:  # the usual case: from_key would find nothing either
                    continue
                value = from_key(ident)
            elif ident == ":filename":
                value, name_slug = date_and_slug_from_filename(page.name, site_tz)
                if value is not None and "slug" not in meta:
                    slug = name_slug
            elif ident == ":filemodtime":
                value = _mod_time(page.path, site_tz)
            else:  # :git
                value = None
            if value is not None:
                out[field] = value
                break
    return PageDates(out, slug, tuple(warnings))


def _mod_time(path: Path, site_tz: tzinfo) -> datetime | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, tz=site_tz)
    except OSError:
        return None
