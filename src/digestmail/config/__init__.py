"""Load ``config/digestmail.toml`` into typed, frozen settings.

Every value is checked against the dataclasses' own declarations (type, default, allowed values,
range) so that a typo in a key, a wrong type or a number out of range is reported once, with the
file and the dotted key, before any work starts; nothing downstream ever sees an untyped dict.

- :mod:`.model`: the dataclasses; each key is declared there once.
- :mod:`.schema`: reads a TOML table by what a dataclass declares.
- :mod:`.values`: conversions a type cannot express (time zone, cron, URL).
- :mod:`.load`: finding and reading the file.
"""

from __future__ import annotations

from digestmail.config.load import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    find_config,
    load_config,
    parse_config,
)
from digestmail.config.model import (
    DEFAULT_SCHEDULES,
    Cadence,
    Config,
    DkimConfig,
    InboxConfig,
    InboxKind,
    ListConfig,
    RelayConfig,
    SecurityMode,
    SiteConfig,
    SmtpConfig,
    StateConfig,
    TransportConfig,
    TransportKind,
    WebConfig,
)

__all__ = [
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "DEFAULT_SCHEDULES",
    "Cadence",
    "Config",
    "DkimConfig",
    "InboxConfig",
    "InboxKind",
    "ListConfig",
    "RelayConfig",
    "SecurityMode",
    "SiteConfig",
    "SmtpConfig",
    "StateConfig",
    "TransportConfig",
    "TransportKind",
    "WebConfig",
    "find_config",
    "load_config",
    "parse_config",
]
