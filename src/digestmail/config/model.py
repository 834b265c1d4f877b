"""The typed, frozen settings, and with each one its TOML key, default, allowed values and range.

This is the one place a config key is declared: :mod:`.schema` reads the allowed keys, the
defaults, the types (``Literal`` for a fixed set of words) and the ranges (``Bounds`` in the field
metadata) from these dataclasses. Paths are declared relative; the loader makes them paths inside
the project directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from digestmail.config import values
from digestmail.config.hugo_settings import HugoSettings
from digestmail.config.schema import INTERNAL, NESTED, Bounds, Invalid, setting
from digestmail.errors import ConfigError

SecurityMode = Literal["tls", "starttls", "none"]
TransportKind = Literal["maildir", "smtp"]
Cadence = Literal["month", "week"]
TitleFrom = Literal["auto", "front_matter"]
InboxKind = Literal["imap", "maildir"]

LOOKBACK_PERIODS = 24
"""How far back ``run-due`` looks (``selection.late.LOOKBACK_PERIODS``, which config cannot
import): a ``catch_up`` beyond it could never take effect."""

SECONDS = "seconds"


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteConfig:
    """The site the posts belong to; what ``[site]`` leaves out comes from the Hugo config.

    ``title`` and ``base_url`` are required, but either place may hold them (Hugo's ``title``
    and ``baseURL``); the loader reports a missing one naming both.
    """

    title: str = ""
    base_url: str = field(default="", metadata=setting(parse=values.base_url))
    """Always ends with a slash, so relative URLs join predictably."""
    hugo: str | None = None
    """The Hugo site's folder, relative to the project; None: the project when it holds a
    Hugo config; "": read no Hugo config."""
    language: str = field(default="en", metadata=setting(parse=values.language))
    timezone: ZoneInfo = field(default=ZoneInfo("UTC"), metadata=setting(parse=values.time_zone))
    content_dir: Path = Path("content")
    permalinks: Mapping[str, str] = field(
        default_factory=dict, metadata=setting(parse=values.permalinks)
    )
    archive_dir: Path = Path("archive")
    archive_url: str = ""
    """Base URL where the archive is published; empty when there is no web version."""
    summary_length: int = field(default=70, metadata=setting(bounds=Bounds(1, 1000, unit="words")))
    """Hugo's ``summaryLength``: words of a post's automatic summary, before its sentence ends."""
    placeholder_titles: tuple[str, ...] = ()
    """Front-matter titles that stand for "the body's first heading" (also found by themselves:
    a title several posts of a section share, each opening with a heading)."""
    hugo_settings: HugoSettings = field(default_factory=HugoSettings, metadata=INTERNAL)
    """The Hugo rules the reader follows (languages, dates, URLs); Hugo's defaults without one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StateConfig:
    path: Path = Path("state/digestmail.sqlite")


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportConfig:
    kind: TransportKind = "maildir"
    maildir: Path = Path("outbox")


@dataclass(frozen=True, slots=True, kw_only=True)
class RelaySettings:
    """Where one relay is and how to talk to it: the keys ``[smtp]`` and each
    ``[[smtp.relays]]`` entry share, declared once here.

    Every number has a range: ``connections = 100000`` once opened a session per recipient and
    ``port = 70000`` passed ``check`` only to crash ``send``. TLS is verified per relay
    (``verify_tls``, ``ca_file``): a test relay's exception never spreads to another one.
    """

    host: str = "localhost"
    port: int = field(default=587, metadata=setting(bounds=Bounds(1, 65535)))
    security: SecurityMode = "starttls"
    username: str = ""
    password_env: str = "DIGESTMAIL_SMTP_PASSWORD"
    connections: int = field(
        default=8, metadata=setting(bounds=Bounds(1, 256, note="parallel SMTP sessions"))
    )
    rate_per_second: float = field(
        default=0.0,
        metadata=setting(bounds=Bounds(0, 10_000, unit="messages/s", note="0 = unlimited")),
    )
    verify_tls: bool = True
    ca_file: Path | None = None
    """Extra CA bundle to trust (a private relay's certificate); the system store otherwise."""

    def password(self) -> str:
        """Read the password at the moment of use: secrets live only in the environment."""
        return os.environ.get(self.password_env, "") if self.password_env else ""


RELAY_KEYS = tuple(f.name for f in fields(RelaySettings))
"""The keys that describe one relay: in ``[smtp]`` alone, or in each ``[[smtp.relays]]``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayConfig(RelaySettings):
    """One ``[[smtp.relays]]`` entry (or the single ``[smtp]`` table seen as one relay).

    ``name`` is what the ledger records for each message the relay accepted, so ``status``
    can count per relay; ``weight`` is the relay's share of the connections (see the README).
    """

    name: str = field(default="", metadata=setting(parse=values.relay_name))
    """Empty in the file means ``host:port``."""
    weight: int = field(
        default=0, metadata=setting(bounds=Bounds(0, 10_000, note="0 = its connections"))
    )
    """The relay's share of the connections; 0 (the default) stands for its ``connections``."""
    key: str = field(default="smtp", metadata=INTERNAL)
    """Where it is configured (``smtp`` or ``smtp.relays[2]``), for errors that name the key."""
    timeout: float = field(default=30.0, metadata=INTERNAL)
    """``smtp.timeout``, shared by every relay."""

    @property
    def share(self) -> int:
        """The weight actually used: ``weight``, or ``connections`` when it is 0."""
        return self.weight or self.connections


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpConfig(RelaySettings):
    """The relay (or relays), and the limits a send keeps to.

    Either the relay's keys are in ``[smtp]`` itself (one relay), or each relay is an entry of
    ``[[smtp.relays]]`` and ``[smtp]`` holds only what they share (timeouts and retries); the
    loader refuses a mix, since nobody could tell which relay a ``host`` in ``[smtp]`` meant.
    """

    timeout: float = field(default=30.0, metadata=setting(bounds=Bounds(1, 3600, unit=SECONDS)))
    max_attempts: int = field(default=5, metadata=setting(bounds=Bounds(1, 100)))
    retry_max_delay: float = field(
        default=30.0, metadata=setting(bounds=Bounds(0, 3600, unit=SECONDS))
    )
    give_up_after_days: float = field(
        default=5.0,
        metadata=setting(bounds=Bounds(0, 36500, above=True, unit="days", note="100 years")),
    )
    """A temporary failure older than this is recorded as permanent, so the issue can finish."""
    relays: tuple[RelayConfig, ...] = field(default=(), metadata=NESTED)
    """The ``[[smtp.relays]]`` entries, read by the loader; empty with a single ``[smtp]``."""

    def relay_list(self) -> tuple[RelayConfig, ...]:
        """Every relay a send uses: the ``[[smtp.relays]]``, or ``[smtp]`` itself as one."""
        if self.relays:
            return self.relays
        own = {name: getattr(self, name) for name in RELAY_KEYS}
        return (RelayConfig(**own, name=f"{self.host}:{self.port}", timeout=self.timeout),)


@dataclass(frozen=True, slots=True, kw_only=True)
class ListConfig:
    key: str = field(metadata=INTERNAL)
    name: str = ""
    """Empty in the file means the list's key."""
    from_addr: str = field(metadata=setting(key="from"))
    subscribers: Path
    categories: tuple[str, ...] = field(metadata=setting(parse=values.categories))
    cadence: Cadence = "month"
    schedule: str = field(default="0 8 1 * *", metadata=setting(parse=values.schedule))
    """Without one in the file, :data:`DEFAULT_SCHEDULES` of the cadence."""
    subject: str = "{{ list.name }} – {{ issue.period_label }}"
    template: str = "digest"
    unsubscribe_mailto: str = ""
    unsubscribe_url: str = ""
    catch_up: int = field(
        default=1,
        metadata=setting(
            bounds=Bounds(
                1, LOOKBACK_PERIODS, note=f"run-due looks {LOOKBACK_PERIODS} periods back"
            )
        ),
    )
    """How many periods back ``run-due`` still sends an unsent issue without ``--include-old``."""
    reply_to: str = ""
    title_from: TitleFrom = "auto"
    """``auto``: a placeholder title gives way to the body's first heading; ``front_matter``:
    the front-matter title, always."""
    language: str = ""
    """The content language of the list's posts; empty in the file means the site's default."""


@dataclass(frozen=True, slots=True, kw_only=True)
class WebConfig:
    """``digestmail serve``: where readers unsubscribe and sign up; off without ``base_url``.

    The limits have ranges because they are the only brake on a sign-up form that anyone on
    the internet can fill in: a confirmation mail to a stranger's address is what abuse costs.
    """

    base_url: str = field(default="", metadata=setting(parse=values.web_base_url))
    """Where serve is reached from outside; every link it makes lives under it."""
    listen: str = field(default="127.0.0.1:8025", metadata=setting(parse=values.listen))
    """``host:port`` that ``serve`` binds without ``--host``/``--port``."""
    trusted_proxies: tuple[str, ...] = field(default=(), metadata=setting(parse=values.networks))
    """Addresses or networks whose ``X-Forwarded-For`` is believed (the reverse proxy)."""
    confirm_days: int = field(default=7, metadata=setting(bounds=Bounds(1, 365, unit="days")))
    signups_per_hour: int = field(
        default=5,
        metadata=setting(bounds=Bounds(1, 1000, note="confirmation mails per address and hour")),
    )
    store_ip: bool = False
    """Keep the client IP with the consent record (off: data protection by default)."""

    @property
    def enabled(self) -> bool:
        return bool(self.base_url)

    def listen_address(self) -> tuple[str, int]:
        """``listen`` split into host and port (checked when the config was read)."""
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


@dataclass(frozen=True, slots=True, kw_only=True)
class InboxConfig:
    """``digestmail inbox``: where bounces and unsubscribe replies arrive; off without ``[inbox]``.

    Processed mail is moved (``done_folder``, ``<maildir>/.done/``), never deleted, so a
    person can always look at what digestmail acted on.
    """

    kind: InboxKind = "imap"
    host: str = "localhost"
    port: int = field(default=993, metadata=setting(bounds=Bounds(1, 65535)))
    security: SecurityMode = "tls"
    username: str = ""
    password_env: str = "DIGESTMAIL_IMAP_PASSWORD"
    folder: str = "INBOX"
    done_folder: str = "digestmail-done"
    maildir: Path = Path("inbox")
    bounce_address: str = field(default="", metadata=setting(parse=values.bounce_address))
    """The envelope sender of list mail; ``bounces+<token>@domain`` per recipient (VERP)."""
    soft_bounce_limit: int = field(
        default=3, metadata=setting(bounds=Bounds(1, 100, note="soft bounces in distinct issues"))
    )
    timeout: float = field(default=30.0, metadata=setting(bounds=Bounds(1, 3600, unit=SECONDS)))
    ca_file: Path | None = None
    """Extra CA bundle to trust (a private IMAP server's certificate); else the system store."""

    def password(self) -> str:
        """Read at the moment of use: secrets live only in the environment."""
        return os.environ.get(self.password_env, "") if self.password_env else ""


DKIM_ALGORITHMS = ("rsa-sha256", "ed25519-sha256")


def _dkim_algorithms(value: tuple[str, ...]) -> tuple[str, ...]:
    found = tuple(dict.fromkeys(a.strip().lower() for a in value))
    unknown = [a for a in found if a not in DKIM_ALGORITHMS]
    if unknown or not found:
        raise Invalid(
            f"must list one or both of: {', '.join(DKIM_ALGORITHMS)} (got {list(value)!r})"
        )
    return found


def _dkim_domain(value: str) -> str:
    domain = value.strip().lower().rstrip(".")
    if not domain or "." not in domain or not domain.isascii() or " " in domain:
        raise Invalid(f"must be a domain name such as example.org (IDNA form), not {value!r}")
    return domain


def _dkim_selector(value: str) -> str:
    selector = value.strip()
    labels = selector.split(".")
    if not selector or not all(lab and lab.replace("-", "").isalnum() for lab in labels):
        raise Invalid(f"must be letters, digits and '-' (dot-separated), not {value!r}")
    if not selector.isascii():
        raise Invalid(f"must be ASCII, not {value!r}")
    return selector


@dataclass(frozen=True, slots=True, kw_only=True)
class DkimConfig:
    """``[dkim]``: sign every message of a send; off without the table.

    The private key comes from ``key_file`` (a PEM file only its owner may read) or, when
    ``key_file`` is not set, from the environment variable named by ``key_env``; it is read at
    the moment of use and never logged. With two algorithms each message carries two
    signatures (RSA first, then Ed25519), one per key.
    """

    domain: str = field(metadata=setting(parse=_dkim_domain))
    """The ``d=`` domain; must be the From domain of each list, or a parent of it."""
    selector: str = field(metadata=setting(parse=_dkim_selector))
    key_file: Path | None = None
    """RSA key (PEM); with ``ed25519-sha256`` the Ed25519 key is ``<stem>.ed25519.key`` beside it
    unless ``ed25519_key_file`` says otherwise."""
    ed25519_key_file: Path | None = None
    ed25519_selector: str = ""
    """The Ed25519 key's own selector (one DNS record per selector); ``<selector>-ed25519``
    when empty."""
    key_env: str = "DIGESTMAIL_DKIM_KEY"
    """Without ``key_file``: the RSA key's PEM text in this variable."""
    ed25519_key_env: str = "DIGESTMAIL_DKIM_ED25519_KEY"
    algorithms: tuple[str, ...] = field(
        default=("rsa-sha256",), metadata=setting(parse=_dkim_algorithms)
    )
    sign_processes: int = field(
        default=0, metadata=setting(bounds=Bounds(0, 64, note="0 = one per core"))
    )
    """Worker processes that make the signatures of a large send (RSA-2048 takes about 0.5 ms of
    a core per message); 0: one per core, and none on a single core."""
    sign_pool_after: int = field(
        default=200, metadata=setting(bounds=Bounds(0, 100_000_000, unit="messages"))
    )
    """A send signs its first messages itself; only past this many does it start the worker
    processes (about 0.2 s of start-up each)."""

    def selector_for(self, algorithm: str) -> str:
        if algorithm.startswith("ed25519"):
            return self.ed25519_selector or f"{self.selector}-ed25519"
        return self.selector


@dataclass(frozen=True, slots=True, kw_only=True)
class PreviewConfig:
    """``digestmail preview``: the addresses its "send me a test copy" form may mail.

    Only these: the preview's page is on the editor's machine, but a stray visitor (another
    local user, a browser tab of a hostile site) must not be able to mail anyone with it.
    """

    test_addresses: tuple[str, ...] = field(
        default=(), metadata=setting(parse=values.test_addresses)
    )


DEFAULT_SCHEDULES: Mapping[str, str] = {"month": "0 8 1 * *", "week": "0 8 * * 1"}
"""Without a ``schedule``, a list is sent at 08:00 after its period: on the 1st or on Monday."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    path: Path = field(metadata=INTERNAL)
    project_dir: Path = field(metadata=INTERNAL)
    site: SiteConfig
    state: StateConfig
    transport: TransportConfig
    smtp: SmtpConfig
    lists: Mapping[str, ListConfig] = field(default_factory=dict)
    web: WebConfig = field(default_factory=WebConfig)
    preview: PreviewConfig = field(default_factory=PreviewConfig)
    inbox: InboxConfig | None = None
    """None without an ``[inbox]`` table: no bounce processing, list mail from ``from``."""
    dkim: DkimConfig | None = None
    """None without a ``[dkim]`` table: messages leave unsigned (a relay may sign them)."""

    def get_list(self, key: str) -> ListConfig:
        try:
            return self.lists[key]
        except KeyError:
            known = ", ".join(sorted(self.lists)) or "none"
            raise ConfigError(
                f"no list {key!r} (lists: {known})", path=self.path, key=f"lists.{key}"
            ) from None
