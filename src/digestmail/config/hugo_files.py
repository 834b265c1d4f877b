"""Find and read a Hugo site's own config the way Hugo 0.111 does, keys lower-cased.

digestmail reads the site's ``baseURL``, ``title``, languages, permalinks and date rules from
the Hugo config instead of asking the editor to copy them into ``digestmail.toml``, where they
would drift apart from the site. Hugo reads, in its site root:

- ``hugo.toml|yaml|yml|json``, else ``config.toml|yaml|yml|json`` (the first that exists);
- the config directory ``config/_default/`` and then ``config/production/`` (``hugo``'s default
  environment), merged over that file: ``hugo.*`` and ``config.*`` there are the root table,
  any other file (``languages.toml``, ``permalinks.toml``, ``params.toml``) is the table of the
  key named like it.

Hugo keys are case-insensitive (``baseURL`` = ``baseurl``), so every key is lower-cased here;
:class:`HugoConfig` remembers how each top-level key was written and in which file, so messages
can name them as the editor wrote them. A file Hugo could not parse is a :class:`ConfigError`
naming the file and the line.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from digestmail.errors import ConfigError

ROOT_NAMES = ("hugo", "config")
"""Hugo 0.111 looks for ``hugo.*`` first, then ``config.*``."""
SUFFIXES = (".toml", ".yaml", ".yml", ".json")
CONFIG_DIRS = ("config/_default", "config/production")
"""The config directory's environments ``hugo`` (and ``hugo list``) reads, in merge order."""


# A NamedTuple, not a frozen dataclass: as immutable, and defined at import without compiling
# six generated methods (about 1 ms a class, on every start of the command line).
class Origin(NamedTuple):
    """Where a top-level Hugo key came from: the file, and the key as written there."""

    path: Path
    key: str


class HugoConfig(NamedTuple):
    """A Hugo site's merged config: lower-cased keys, and where each top-level key was set."""

    root: Path
    values: Mapping[str, Any]
    origins: Mapping[str, Origin]
    """Lower-cased top-level key -> where it was set (the last file to set it)."""
    files: tuple[Path, ...]

    def where(self, key: str) -> str:
        """``hugo.toml: baseURL``: the file (relative to the site root) and the key as written.

        ``key`` may be dotted (``languages.de.languageCode``); the first part names the file.
        """
        origin = self.origins.get(key.partition(".")[0].lower())
        if origin is None:
            return f"Hugo config: {key}"
        return f"{_relative(origin.path, self.root)}: {self.written(key)}"

    def written(self, key: str) -> str:
        """A dotted key with its first part spelled as in the file (``baseurl`` -> ``baseURL``)."""
        head, _, rest = key.partition(".")
        origin = self.origins.get(head.lower())
        return (origin.key if origin else head) + (f".{rest}" if rest else "")

    def file_of(self, key: str) -> Path:
        """The file a top-level key was set in (the first Hugo file when it was not set)."""
        origin = self.origins.get(key.partition(".")[0].lower())
        if origin is not None:
            return origin.path
        return self.files[0] if self.files else self.root


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def config_files(root: Path) -> tuple[Path, ...]:
    """The Hugo config files of the site at ``root``, in the order Hugo merges them."""
    found: list[Path] = []
    root_file = next(
        (
            root / f"{name}{suffix}"
            for name in ROOT_NAMES
            for suffix in SUFFIXES
            if (root / f"{name}{suffix}").is_file()
        ),
        None,
    )
    if root_file is not None:
        found.append(root_file)
    for folder in CONFIG_DIRS:
        directory = root / folder
        if directory.is_dir():
            files = sorted(p for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file())
            # the root tables first, so a languages.toml beside them wins for its own key
            found.extend(sorted(files, key=lambda p: p.stem not in ROOT_NAMES))
    return tuple(found)


def has_hugo_config(root: Path) -> bool:
    """Whether ``root`` holds a Hugo config (a file or a ``config/_default/`` folder)."""
    return bool(config_files(root))


def _parse(path: Path) -> Any:
    """One file's document; a parse error names the file and the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8: {exc}", path=path) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the Hugo config: {exc.strerror or exc}", path=path) from exc
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", path=path) from exc
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"line {exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})", path=path
            ) from exc
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        raise ConfigError(f"{line}not valid YAML: {exc.problem or exc}", path=path) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", path=path) from exc


def lower_keys(value: Any) -> Any:
    """Hugo's config maps are case-insensitive: every table's keys lower-cased, recursively."""
    if isinstance(value, dict):
        return {str(k).lower(): lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [lower_keys(v) for v in value]
    return value


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    """Tables merge key by key; any other value replaces the earlier one."""
    for key, value in new.items():
        old = into.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            _merge(old, value)
        else:
            into[key] = value


def read_hugo_config(root: Path) -> HugoConfig:
    """The merged config of the Hugo site at ``root``; :class:`ConfigError` if none is there."""
    files = config_files(root)
    if not files:
        raise ConfigError(
            "no Hugo config here (hugo.toml, config.toml or config/_default/); set site.hugo "
            'to the Hugo site\'s folder, or hugo = "" to read none',
            path=root,
        )
    values: dict[str, Any] = {}
    origins: dict[str, Origin] = {}
    for path in files:
        document = _parse(path)
        if document is None:  # an empty YAML file
            continue
        if path.parent == root or path.stem in ROOT_NAMES:
            table = document
        elif "." in path.stem:  # params.de.toml: one language's values, none digestmail reads
            continue
        else:
            table = {path.stem: document}
        if not isinstance(table, dict):
            raise ConfigError(f"must hold a table, not {type(table).__name__}", path=path)
        for key in table:
            origins[str(key).lower()] = Origin(path, str(key))
        _merge(values, lower_keys(table))
    return HugoConfig(root=root, values=values, origins=origins, files=files)
