"""Find and read ``config/digestmail.toml``; every problem is a ConfigError naming file and key.

What is allowed is not written here: :mod:`.schema` reads it from the dataclasses of
:mod:`.model`. ``check`` and ``send`` both come through :func:`load_config`, so a value one
accepts the other cannot trip over.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from digestmail.config.hugo_files import has_hugo_config, read_hugo_config
from digestmail.config.hugo_settings import apply_hugo
from digestmail.config.model import (
    DEFAULT_SCHEDULES,
    RELAY_KEYS,
    Config,
    DkimConfig,
    InboxConfig,
    ListConfig,
    PreviewConfig,
    RelayConfig,
    SiteConfig,
    SmtpConfig,
    StateConfig,
    TransportConfig,
    WebConfig,
)
from digestmail.config.schema import read_section, sections_of
from digestmail.errors import ConfigError

CONFIG_ENV = "DIGESTMAIL_CONFIG"
DEFAULT_CONFIG = Path("config/digestmail.toml")


def find_config(explicit: str | Path | None) -> Path:
    """``--config``, then ``$DIGESTMAIL_CONFIG``, then ``./config/digestmail.toml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    return DEFAULT_CONFIG


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate the config; every problem is a :class:`ConfigError` naming file and key."""
    cfg_path = find_config(path).resolve()
    try:
        raw = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            "config file not found (use --config or $DIGESTMAIL_CONFIG)", path=cfg_path
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", path=cfg_path) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8: {exc}", path=cfg_path) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the config: {exc.strerror or exc}", path=cfg_path) from exc
    return parse_config(raw, path=cfg_path)


def _project_dir(cfg_path: Path) -> Path:
    """Paths are relative to the project: the parent of ``config/``, else the config's folder."""
    parent = cfg_path.parent
    return parent.parent if parent.name == "config" else parent


def _table(raw: Mapping[str, Any], key: str, path: Path) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"must be a table, not {type(value).__name__}", path=path, key=key)
    return value


def _hugo_root(given: str | None, *, path: Path, project: Path) -> Path | None:
    """``site.hugo``: the Hugo site's folder; by default the project if it holds a Hugo config."""
    if given is None:
        return project if has_hugo_config(project) else None
    if not given.strip():
        return None
    root = project / given
    if not has_hugo_config(root):
        raise ConfigError(
            f"no Hugo config in {root} (hugo.toml, config.toml or config/_default/); "
            'give the Hugo site\'s folder relative to the project, or "" to read none',
            path=path,
            key="site.hugo",
        )
    return root


def _site(
    values: dict[str, Any], given: Mapping[str, Any], *, path: Path, project: Path
) -> SiteConfig:
    """``[site]`` with what it leaves out taken from the Hugo config; title and URL required."""
    root = _hugo_root(values["hugo"], path=path, project=project)
    if root is not None:
        values["hugo_settings"] = apply_hugo(values, given, read_hugo_config(root))
    for key, hugo_key in (("title", "title"), ("base_url", "baseURL")):
        if not values[key]:
            hugo_file = "the Hugo site's config" if root is None else "its Hugo config"
            raise ConfigError(
                f"missing required key: set it here, or {hugo_key} in {hugo_file} "
                "(site.hugo names the Hugo site's folder)",
                path=path,
                key=f"site.{key}",
            )
    return SiteConfig(**values)


def _smtp(raw: Mapping[str, Any], *, path: Path, project: Path) -> SmtpConfig:
    """``[smtp]``: one relay in the table itself, or ``[[smtp.relays]]`` and what they share.

    A relay's key (``host``, ``connections``...) in ``[smtp]`` beside ``[[smtp.relays]]`` is
    refused: it would be unclear which relay it meant, or whether it meant every one (a
    ``verify_tls = false`` meant for a test relay must not reach the others). Each relay needs
    a name of its own, as the ledger records it per message.
    """
    values = read_section(SmtpConfig, raw, prefix="smtp", path=path, project=project)
    entries = raw.get("relays")
    if entries is None:
        return SmtpConfig(**values)
    if (
        not isinstance(entries, list)
        or not entries
        or not all(isinstance(e, dict) for e in entries)
    ):
        raise ConfigError(
            "must be one or more [[smtp.relays]] tables, each with its host, port, ...",
            path=path,
            key="smtp.relays",
        )
    for key in RELAY_KEYS:
        if key in raw:
            raise ConfigError(
                "a relay's own setting cannot be in [smtp] beside [[smtp.relays]] (which relay "
                "would it be for?): set it in each [[smtp.relays]] entry that needs it",
                path=path,
                key=f"smtp.{key}",
            )
    relays: list[RelayConfig] = []
    for number, entry in enumerate(entries, start=1):
        prefix = f"smtp.relays[{number}]"
        item = read_section(RelayConfig, entry, prefix=prefix, path=path, project=project)
        item["name"] = item["name"] or f"{item['host']}:{item['port']}"
        for other in relays:
            if other.name == item["name"]:
                raise ConfigError(
                    f"{item['name']!r} is the name of {other.key} already; give each relay a "
                    "name of its own (the ledger records it for every message)",
                    path=path,
                    key=f"{prefix}.name",
                )
        relays.append(RelayConfig(**item, key=prefix, timeout=values["timeout"]))
    values["relays"] = tuple(relays)
    return SmtpConfig(**values)


def _list_language(language: str, site: SiteConfig, *, path: Path, key: str) -> str:
    """A list's language: one of the site's content languages; empty means the default one."""
    rules = site.hugo_settings
    if not language:
        return rules.default_language
    if language not in rules.languages:
        raise ConfigError(
            f"{language!r} is not a content language of the site "
            f"(languages: {', '.join(rules.languages)}; set them in the Hugo config)",
            path=path,
            key=f"{key}.language",
        )
    return language


def parse_config(raw: Mapping[str, Any], *, path: Path) -> Config:
    """Validate an already-parsed TOML document (separate from I/O so tests can feed dicts)."""
    top = sections_of(Config)
    for key in raw:
        if key not in top:
            raise ConfigError(
                f"unknown section (allowed: {', '.join(sorted(top))})", path=path, key=key
            )
    project = _project_dir(path)

    def section(cls: type, key: str) -> dict[str, Any]:
        return read_section(cls, _table(raw, key, path), prefix=key, path=path, project=project)

    site = _site(section(SiteConfig, "site"), _table(raw, "site", path), path=path, project=project)
    state = StateConfig(**section(StateConfig, "state"))
    transport = TransportConfig(**section(TransportConfig, "transport"))
    smtp = _smtp(_table(raw, "smtp", path), path=path, project=project)
    web = WebConfig(**section(WebConfig, "web"))
    preview = PreviewConfig(**section(PreviewConfig, "preview"))
    inbox = InboxConfig(**section(InboxConfig, "inbox")) if "inbox" in raw else None
    dkim = DkimConfig(**section(DkimConfig, "dkim")) if "dkim" in raw else None

    lists: dict[str, ListConfig] = {}
    for name, table in _table(raw, "lists", path).items():
        prefix = f"lists.{name}"
        if not isinstance(table, dict):
            raise ConfigError("must be a table", path=path, key=prefix)
        item = read_section(ListConfig, table, prefix=prefix, path=path, project=project)
        if "schedule" not in table:
            item["schedule"] = DEFAULT_SCHEDULES[item["cadence"]]
        item["name"] = item["name"] or name
        item["language"] = _list_language(item["language"], site, path=path, key=prefix)
        lists[name] = ListConfig(key=name, **item)

    return Config(
        path=path,
        project_dir=project,
        site=site,
        state=state,
        transport=transport,
        smtp=smtp,
        lists=lists,
        web=web,
        preview=preview,
        inbox=inbox,
        dkim=dkim,
    )
