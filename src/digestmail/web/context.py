"""What every route of serve needs, built once when the app starts.

The ledger is used from one thread of its own (:class:`~digestmail.ledger.thread.LedgerThread`):
a write that has to wait for a running send (SQLite's busy handler, up to ``BUSY_TIMEOUT_MS``)
then waits in that thread, never in the event loop that answers the other requests. One writer
per process also means serve's own requests never contend for the write lock with each other,
and one-click suppressions that arrive together share one commit (:mod:`.batch`).

While the app runs, the ledger thread takes the GIL back quickly after each ``sqlite3`` call
(:func:`~digestmail.ledger.thread.ledger_thread_priority`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlsplit

from digestmail.config import Config, ListConfig
from digestmail.deliver.transports.base import Transport
from digestmail.ledger.thread import LedgerThread
from digestmail.render.web_labels import web_labels_for
from digestmail.web.batch import SuppressionBatch
from digestmail.web.clients import (
    PER_IP_PER_HOUR,
    Network,
    SlidingLimit,
    fingerprint,
    log_key,
    parse_networks,
)


@dataclass
class WebContext:
    """The config and the shared parts of one running serve app."""

    config: Config
    secret: str
    make_transport: Callable[[Config], Transport]
    ledger: LedgerThread
    suppressions: SuppressionBatch
    trusted: tuple[Network, ...] = ()
    per_address: SlidingLimit = field(default_factory=lambda: SlidingLimit(5))
    per_ip: SlidingLimit = field(default_factory=lambda: SlidingLimit(PER_IP_PER_HOUR))

    @classmethod
    def build(
        cls, config: Config, *, secret: str, make_transport: Callable[[Config], Transport]
    ) -> WebContext:
        ledger = LedgerThread(config.state.path)
        return cls(
            config=config,
            secret=secret,
            make_transport=make_transport,
            ledger=ledger,
            suppressions=SuppressionBatch(ledger),
            trusted=parse_networks(config.web.trusted_proxies),
            per_address=SlidingLimit(config.web.signups_per_hour),
        )

    @functools.cached_property
    def transport(self) -> Transport:
        """One transport for the app's life, made on the first confirmation mail: a relay
        that refused a connection is then tried last by the next mails too (RelayPool)."""
        return self.make_transport(self.config)

    @property
    def log_key(self) -> bytes:
        return log_key(self.secret)

    def hashed(self, value: str) -> str:
        """``value`` (an address) as it may appear in the log."""
        return fingerprint(value.casefold(), self.log_key)

    @property
    def labels(self) -> Mapping[str, str]:
        return web_labels_for(self.config.site.language)

    @property
    def language(self) -> str:
        return self.config.site.language

    @property
    def base_path(self) -> str:
        """The path part of ``web.base_url`` (``/newsletter/``): serve answers under it too."""
        return urlsplit(self.config.web.base_url).path or "/"

    @property
    def confirm_valid_for(self) -> timedelta:
        return timedelta(days=self.config.web.confirm_days)

    def url(self, path: str) -> str:
        """An absolute URL under ``web.base_url``: every link serve makes lives there."""
        return f"{self.config.web.base_url}{path}"

    def list_cfg(self, key: str) -> ListConfig | None:
        return self.config.lists.get(key)

    def list_names(self, keys: tuple[str, ...]) -> str:
        return ", ".join(self.config.lists[k].name for k in keys if k in self.config.lists)
