"""What digestmail takes from a Hugo site's config, and the Hugo rules the content reader follows.

The digest must link to the pages Hugo builds and date posts as Hugo dates them, so the site's
own settings are the source of truth: copying ``baseURL`` or the permalinks into
``digestmail.toml`` by hand is how the two drift apart. A key set in digestmail's ``[site]``
still wins (an explicit choice), and every value taken from Hugo is recorded as a
:class:`Taken` so ``digestmail check`` can say what came from where.

A Hugo setting digestmail cannot follow is never ignored in silence: it is a
:class:`~digestmail.errors.ConfigError` when posts would be dated or linked wrongly, else a
warning; both name the Hugo file and key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from digestmail.config import values
from digestmail.config.hugo_files import HugoConfig
from digestmail.config.schema import Bounds, Invalid, check_bounds
from digestmail.errors import ConfigError

DATE_FIELDS = ("date", "publishdate", "lastmod", "expirydate")
DATE_ALIASES: Mapping[str, tuple[str, ...]] = {
    "date": (),
    "publishdate": ("pubdate", "published"),
    "lastmod": ("modified",),
    "expirydate": ("unpublishdate",),
}
"""Hugo 0.111's ``dateFieldAliases``: each key is followed by its aliases in a chain."""
FILENAME, FILE_MOD_TIME, GIT, DEFAULT = ":filename", ":filemodtime", ":git", ":default"
_DEFAULT_LISTS: Mapping[str, tuple[str, ...]] = {
    "date": ("date", "publishdate", "lastmod"),
    "publishdate": ("publishdate", "date"),
    "lastmod": (GIT, "lastmod", "date", "publishdate"),
    "expirydate": ("expirydate",),
}
"""Hugo's ``[frontmatter]`` defaults, before ``:default`` and the aliases are expanded."""


def expand_chain(identifiers: tuple[str, ...], default: tuple[str, ...]) -> tuple[str, ...]:
    """Hugo's ``expandDefaultValues`` then ``addDateFieldAliases``: the handlers, in order."""
    out: list[str] = []
    for ident in identifiers:
        for item in default if ident == DEFAULT else (ident,):
            for key in (item, *DATE_ALIASES.get(item, ())):
                if key not in out:
                    out.append(key)
    return tuple(out)


DEFAULT_DATE_CHAINS: Mapping[str, tuple[str, ...]] = {
    name: expand_chain(chain, chain) for name, chain in _DEFAULT_LISTS.items()
}
"""For each Post date: front-matter keys (lower case) and ``:filename``/``:filemodtime``/
``:git`` handlers, first found wins. ``:git`` is skipped: digestmail reads no Git history."""


# A NamedTuple, not a frozen dataclass: as immutable, and defined at import without compiling
# six generated methods (about 1 ms a class, on every start of the command line).
class Taken(NamedTuple):
    """One ``[site]`` value taken from the Hugo config, for ``check``'s "what came from where"."""

    key: str
    value: str
    source: str
    """``hugo.toml: baseURL``: the file and the key as written there."""

    def __str__(self) -> str:
        return f"{self.key} = {self.value} (from {self.source})"


@dataclass(frozen=True, slots=True, kw_only=True)
class HugoSettings:
    """The Hugo rules the content reader follows; Hugo's defaults without a Hugo config."""

    root: Path | None = None
    """The Hugo site's folder, or None when no Hugo config is read."""
    languages: tuple[str, ...] = ("en",)
    """The content languages: a file ``x.<lang>.md`` is in ``<lang>`` only if it is one."""
    default_language: str = "en"
    default_language_in_subdir: bool = False
    ugly_urls: bool = False
    remove_path_accents: bool = False
    date_chains: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: dict(DEFAULT_DATE_CHAINS)
    )
    category_key: str = "categories"
    """The front-matter key of the ``category`` taxonomy (Hugo's ``[taxonomies]``)."""
    taken: tuple[Taken, ...] = ()
    warnings: tuple[str, ...] = ()

    def language_prefix(self, language: str) -> str:
        """``/en`` for a page in ``language`` when Hugo puts it under ``/<lang>/``, else ``""``."""
        if language != self.default_language or self.default_language_in_subdir:
            return "/" + language
        return ""


# --- reading the Hugo values ---------------------------------------------------------------


class _Reader:
    """Reads the merged Hugo config; errors and warnings name the Hugo file and key."""

    def __init__(self, hugo: HugoConfig) -> None:
        self.hugo = hugo
        self.warnings: list[str] = []

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, path=self.hugo.file_of(key), key=self.hugo.written(key))

    def warn(self, key: str, message: str) -> None:
        self.warnings.append(f"{self.hugo.where(key)}: {message}")

    def get(self, key: str) -> Any:
        """A dotted, lower-case key's value, or None."""
        value: Any = self.hugo.values
        for part in key.split("."):
            if not isinstance(value, dict):
                return None
            value = value.get(part)
        return value

    def text(self, key: str) -> str | None:
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not {type(value).__name__} {value!r}")
        return value

    def flag(self, key: str) -> bool:
        value = self.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, not {value!r}")
        return value

    def table(self, key: str) -> dict[str, Any]:
        value = self.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table, not {type(value).__name__}")
        return value


def _languages(read: _Reader) -> tuple[tuple[str, ...], str]:
    """The content languages by weight, and the default one (``defaultContentLanguage``)."""
    default = (read.text("defaultcontentlanguage") or "en").lower()
    table = read.table("languages")
    if not table:
        return (default,), default

    def weight(code: str) -> tuple[int, str]:
        entry = table[code]
        raw = entry.get("weight", 0) if isinstance(entry, dict) else 0
        return (raw if isinstance(raw, int) else 0, code)

    codes = tuple(sorted(table, key=weight))
    for code in codes:
        entry = table[code]
        if not isinstance(entry, dict):
            raise read.error(f"languages.{code}", "must be a table")
        for key, what in (("contentdir", "one content folder"), ("baseurl", "one base URL")):
            if key in entry:
                read.warn(
                    f"languages.{code}.{key}",
                    f"not supported: digestmail reads {what} for all languages",
                )
    if default not in codes:
        raise read.error(
            "defaultContentLanguage",
            f"{default!r} is not one of the configured languages ({', '.join(codes)})",
        )
    return codes, default


def _date_chains(read: _Reader) -> dict[str, tuple[str, ...]]:
    """``[frontmatter]``: each date's handler list, ``:default`` and aliases expanded."""
    table = read.table("frontmatter")
    git_on = read.flag("enablegitinfo")
    chains = dict(DEFAULT_DATE_CHAINS)
    for name, raw in table.items():
        if name not in DATE_FIELDS:
            read.warn(
                f"frontmatter.{name}", "unknown date (Hugo knows " + ", ".join(DATE_FIELDS) + ")"
            )
            continue
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise read.error(f"frontmatter.{name}", "must be a list of strings")
        lowered = tuple(i.lower() for i in items)
        for ident in lowered:
            if ident == GIT:
                message = "':git' is unsupported: digestmail does not read Git history"
                if git_on and name != "lastmod":
                    raise read.error(
                        f"frontmatter.{name}",
                        message + "; dates would differ from the site (remove ':git' here)",
                    )
                read.warn(f"frontmatter.{name}", message + "; the next entry is used")
            elif ident.startswith(":") and ident not in (FILENAME, FILE_MOD_TIME, DEFAULT):
                read.warn(
                    f"frontmatter.{name}",
                    f"{ident!r} is no Hugo date handler (:filename, :fileModTime, :git, "
                    ":default); Hugo reads it as a front-matter key",
                )
        chains[name] = expand_chain(lowered, _DEFAULT_LISTS[name])
    return chains


def _category_key(read: _Reader) -> str:
    taxonomies = read.table("taxonomies")
    if not taxonomies:
        return "categories"
    plural = taxonomies.get("category")
    if isinstance(plural, str) and plural:
        return plural.lower()
    read.warn(
        "taxonomies",
        "has no 'category' taxonomy (it has: "
        + (", ".join(f"{k} = {v}" for k, v in taxonomies.items()) or "none")
        + "); digestmail reads the lists' categories from the front-matter key 'categories'",
    )
    return "categories"


def _permalinks(read: _Reader) -> dict[str, str] | None:
    """``[permalinks]`` in 0.111's ``section = pattern`` or 0.112's ``[permalinks.page]``."""
    table = read.table("permalinks")
    if not table:
        return None
    page = table.get("page")
    if isinstance(page, dict):  # Hugo 0.112+; 0.111 itself fails on this form
        table = page
        prefix = "permalinks.page"
    else:
        prefix = "permalinks"
    out: dict[str, str] = {}
    for section, pattern in table.items():
        if isinstance(pattern, dict) and prefix == "permalinks":
            continue  # [permalinks.section] and friends: list pages, no posts
        if not isinstance(pattern, str):
            raise read.error(f"{prefix}.{section}", "a permalink pattern must be a string")
        out[section] = pattern
    return out


# --- merging into [site] ---------------------------------------------------------------------


class _Take(NamedTuple):
    """One ``[site]`` key Hugo can supply: the Hugo key, and how its value is read."""

    site_key: str
    hugo_key: str
    read: Callable[[_Reader, str], Any]
    show: Callable[[Any], str] = str


def _text_value(read: _Reader, key: str) -> Any:
    return read.text(key) or None


def _parsed(parse: Callable[[str], Any]) -> Callable[[_Reader, str], Any]:
    def reader(read: _Reader, key: str) -> Any:
        text = read.text(key)
        if not text:
            return None
        try:
            return parse(text)
        except Invalid as exc:
            raise read.error(key, exc.message) from None

    return reader


def _summary_length(read: _Reader, key: str) -> Any:
    value = read.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise read.error(key, f"must be an integer, not {value!r}")
    bounds = Bounds(1, 1000, unit="words")
    check_bounds(bounds, value, path=read.hugo.file_of(key), key=read.hugo.written(key))
    return value


def _content_dir(read: _Reader, key: str) -> Any:
    text = read.text(key)
    return read.hugo.root / text if text else None


_TAKES = (
    _Take("title", "title", _text_value),
    _Take("base_url", "baseurl", _parsed(values.base_url)),
    _Take("timezone", "timezone", _parsed(values.time_zone)),
    _Take("content_dir", "contentdir", _content_dir),
    _Take("summary_length", "summarylength", _summary_length),
)


def _site_language(read: _Reader, default: str) -> tuple[str, str] | None:
    """(language for labels and dates, the Hugo key it came from), or None to keep "en"."""
    candidates = []
    if read.get("languages") is not None:
        candidates.append(f"languages.{default}.languagecode")
    else:
        candidates.append("languagecode")
    candidates.append("defaultcontentlanguage")
    for key in candidates:
        text = read.get(key)
        if isinstance(text, str) and text:
            try:
                return values.language(text), key
            except Invalid:
                continue
    return None


def apply_hugo(site: dict[str, Any], given: Mapping[str, Any], hugo: HugoConfig) -> HugoSettings:
    """Fill ``site`` (field name -> value) from the Hugo config where ``[site]`` did not set it.

    ``given`` is the ``[site]`` table as written, so only keys the editor left out are taken.
    Returns the rules for the content reader, with what was taken and the warnings.
    """
    read = _Reader(hugo)
    taken: list[Taken] = []

    def take(site_key: str, value: Any, hugo_key: str, shown: str | None = None) -> None:
        site[site_key] = value
        taken.append(Taken(f"site.{site_key}", shown or str(value), hugo.where(hugo_key)))

    for item in _TAKES:
        value = item.read(read, item.hugo_key)
        if value is not None and item.site_key not in given:
            take(item.site_key, value, item.hugo_key)
    if "content_dir" not in given and "content_dir" not in {t.key[5:] for t in taken}:
        site["content_dir"] = hugo.root / "content"  # Hugo's default, in the Hugo site
    languages, default = _languages(read)
    if "language" not in given:
        found = _site_language(read, default)
        if found is not None:
            take("language", found[0], found[1])
    links = _permalinks(read)
    if links is not None and "permalinks" not in given:
        shown = ", ".join(f"{k} = {v}" for k, v in links.items())
        take("permalinks", links, "permalinks", shown)
    settings = HugoSettings(
        root=hugo.root,
        languages=languages,
        default_language=default,
        default_language_in_subdir=read.flag("defaultcontentlanguageinsubdir"),
        ugly_urls=read.flag("uglyurls"),
        remove_path_accents=read.flag("removepathaccents"),
        date_chains=_date_chains(read),
        category_key=_category_key(read),
    )
    taken.extend(_rules_taken(read, settings))
    return replace(settings, taken=tuple(taken), warnings=tuple(read.warnings))


def _rules_taken(read: _Reader, settings: HugoSettings) -> list[Taken]:
    """The Hugo rules in force that are not ``[site]`` keys, for ``check``; and what is not."""
    hugo = read.hugo
    taken: list[Taken] = []
    for key, name in (
        ("uglyurls", "uglyURLs"),
        ("removepathaccents", "removePathAccents"),
        ("defaultcontentlanguageinsubdir", "defaultContentLanguageInSubdir"),
    ):
        if read.flag(key):
            taken.append(Taken(f"hugo.{name}", "true", hugo.where(key)))
    languages, default = settings.languages, settings.default_language
    if len(languages) > 1 or default != "en":
        key = "languages" if read.get("languages") else "defaultcontentlanguage"
        shown = f"{', '.join(languages)} (default {default})"
        taken.append(Taken("hugo.languages", shown, hugo.where(key)))
    if read.get("frontmatter") is not None:
        shown = "; ".join(f"{k} = {list(v)}" for k, v in settings.date_chains.items())
        taken.append(Taken("hugo.frontmatter", shown, hugo.where("frontmatter")))
    if settings.category_key != "categories":
        where = hugo.where("taxonomies")
        taken.append(Taken("hugo.taxonomies.category", settings.category_key, where))
    if read.get("disablelanguages") is not None:
        read.warn("disableLanguages", "not supported: posts of those languages are still read")
    if read.flag("disablepathtolower"):
        read.warn("disablePathToLower", "not supported: digestmail lower-cases permalinks")
    return taken
