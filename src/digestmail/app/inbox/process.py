"""The inbox use case: read every message once, sort it, act on it, remember it, move it.

Per message: a fault barrier (one malformed message is reported with its Message-ID and left
in place; the run goes on), the ledger's memory (a message seen before counts once), then the
action its kind asks for. Moved aside are only the messages digestmail acted on (bounces it
matched, unsubscribe replies it honoured); everything else stays for a person to read.
``dry_run`` sorts and matches but writes, moves and sends nothing.

Messages are handled in batches (:data:`BATCH_MESSAGES` messages or :data:`BATCH_SECONDS`,
whichever comes first): the batch's suppressions, bounce rows and "handled" marks are written
in one commit, and only after that commit are its messages moved to the done folder (one
command for the batch on IMAP) and its confirmations sent. A crash before the commit leaves
every message of the batch in the mailbox and unknown to the ledger: the next run handles them
again, nothing lost. A crash after it leaves some of them in the mailbox but known: the next
run counts them as "already seen" and moves them, nothing counted twice.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message

from digestmail.app.audience import list_rows
from digestmail.app.inbox.actions import Actions
from digestmail.app.inbox.classify import Kind, asks_to_unsubscribe, classify
from digestmail.app.inbox.match import Matcher
from digestmail.config import Config
from digestmail.errors import ConfigError
from digestmail.inbound.base import InboxItem, Mailbox, open_mailbox
from digestmail.ledger.store import Ledger
from digestmail.message.headers import parse_address
from digestmail.message.unsubscribe import secret_from_env
from digestmail.models import Recipient

log = logging.getLogger("digestmail.inbox")

ACTED = frozenset({"hard", "soft", "unsubscribe"})
"""Outcomes after which a message is moved to the done folder."""
BATCH_MESSAGES = 200
"""Messages whose ledger writes share one commit (one fsync instead of one per message)."""
BATCH_SECONDS = 0.5
"""...or fewer, when handling them took this long: a slow mailbox still commits often."""
READ_MESSAGES = 50
READ_BYTES = 4 << 20
"""Messages handed over by one call to the mailbox's reading thread: at most this many, and
no more once this many bytes are read (so a run holds a few MB of mail, never the mailbox)."""
_SERIOUS_DEFECTS = frozenset(
    {
        "MissingHeaderBodySeparatorDefect",
        "StartBoundaryNotFoundDefect",
        "CloseBoundaryNotFoundDefect",
        "MultipartInvariantViolationDefect",
        "NoBoundaryInMultipartDefect",
    }
)


class Malformed(ValueError):
    """A message too broken to be sorted with confidence; ``msg`` is what could be parsed."""

    def __init__(self, reason: str, msg: Message | None = None) -> None:
        super().__init__(reason)
        self.msg = msg


@dataclass(slots=True)
class InboxReport:
    """What one run did, in counts; ``malformed`` lists Message-IDs for a person to look at."""

    outcomes: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)
    """Suppressions made, by source (``bounce``, ``reply``)."""
    malformed: list[str] = field(default_factory=list)
    dry_run: bool = False


def message_key(msg: Message, data: bytes) -> str:
    """The message's Message-ID, else a hash of its bytes (line ends made alike)."""
    message_id = str(msg.get("Message-ID", "") or "").strip()
    if message_id:
        return f"mid:{message_id}"
    return "sha256:" + hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def parse(data: bytes) -> Message:
    """Parse, refusing what cannot be sorted with confidence (:class:`Malformed`)."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    if not msg.keys():
        raise Malformed("no header fields", msg)
    for part in msg.walk():
        for defect in part.defects:
            if type(defect).__name__ in _SERIOUS_DEFECTS:
                raise Malformed(type(defect).__name__, msg)
    return msg


class _Lists:
    """The lists' unsubscribe addresses and members, read once per run."""

    def __init__(self, config: Config, ledger: Ledger) -> None:
        self._config = config
        self._ledger = ledger
        self._members: dict[str, frozenset[str]] = {}
        self.mailto: dict[str, list[tuple[str, bool]]] = {}
        """address -> [(list key, whether it is an explicit ``unsubscribe_mailto``)]."""
        for key, cfg in config.lists.items():
            explicit = cfg.unsubscribe_mailto.strip()
            try:
                address = explicit or parse_address(cfg.from_addr, what="from")[1]
            except ValueError as exc:
                raise ConfigError(str(exc), path=config.path, key=f"lists.{key}") from exc
            self.mailto.setdefault(address.lower(), []).append((key, bool(explicit)))

    def members(self, key: str) -> frozenset[str]:
        if key not in self._members:
            rows = list_rows(self._config.get_list(key), self._ledger)
            self._members[key] = frozenset(
                r.email.casefold() for r in rows if isinstance(r, Recipient)
            )
        return self._members[key]


class InboxRun:
    """One ``digestmail inbox``: a mailbox, the ledger, and what to do with each message."""

    def __init__(self, config: Config, ledger: Ledger, *, dry_run: bool = False) -> None:
        assert config.inbox is not None
        self.config = config
        self.cfg = config.inbox
        self.ledger = ledger
        self.dry_run = dry_run
        self.report = InboxReport(dry_run=dry_run)
        self.lists = _Lists(config, ledger)
        self.matcher = Matcher(
            ledger,
            bounce_address=self.cfg.bounce_address,
            secret=secret_from_env(),
            members=self.lists.members,
        )
        self.actions = Actions(config, ledger, report=self.report.suppressed, dry_run=dry_run)

    async def run(self, mailbox: Mailbox | None = None) -> InboxReport:
        box = mailbox or open_mailbox(self.cfg)
        await asyncio.to_thread(box.open)
        try:
            await self._handle_all(box)
        finally:
            try:
                await asyncio.to_thread(box.close)
            finally:
                await self.actions.close()
        return self.report

    async def _handle_all(self, box: Mailbox) -> None:
        """Every message, in batches: handle, commit the batch, then move it aside."""
        items = iter(box.messages())
        to_move: list[str] = []
        started = time.monotonic()
        while chunk := await asyncio.to_thread(_read_some, items):
            for item in chunk:
                if self._one(item):
                    to_move.append(item.ref)
                if (
                    max(len(self.actions.batch), len(to_move)) >= BATCH_MESSAGES
                    or time.monotonic() - started >= BATCH_SECONDS
                ):
                    await self._commit(box, to_move)
                    to_move = []
                    started = time.monotonic()
        await self._commit(box, to_move)

    async def _commit(self, box: Mailbox, to_move: list[str]) -> None:
        """Write the batch in one commit; then, and only then, move its messages aside."""
        if self.dry_run:
            self.actions.batch.clear()
            return
        self.ledger.inbox.commit(self.actions.batch)
        self.actions.batch.clear()
        if to_move:
            await asyncio.to_thread(box.done, to_move)
        await self.actions.flush()

    def _one(self, item: InboxItem) -> bool:
        """Handle one message; True when it is to be moved to the done folder."""
        try:
            msg = parse(item.data)
        except (ValueError, LookupError) as exc:
            self._malformed(item, getattr(exc, "msg", None), exc)
            return False
        key = message_key(msg, item.data)
        previous = self.actions.batch.handled.get(key) or self.ledger.inbox.outcome(key)
        if previous is not None:
            self.report.outcomes["already seen"] += 1
            return previous in ACTED
        try:
            outcome = self._sort(msg, key)
        except (Malformed, ValueError, LookupError, TypeError, AttributeError) as exc:
            self.actions.drop()  # not remembered: handled again next time
            self._malformed(item, msg, exc)
            return False
        self.report.outcomes[outcome] += 1
        self.actions.keep(key, outcome)
        return outcome in ACTED

    def _malformed(self, item: InboxItem, msg: Message | None, exc: Exception) -> None:
        mid = str(msg.get("Message-ID", "")).strip() if msg is not None else ""
        label = mid or f"(no Message-ID; {item.ref})"
        self.report.malformed.append(label)
        self.report.outcomes["malformed"] += 1
        log.warning("inbox: left for a person, cannot sort %s: %s", label, exc)

    def _sort(self, msg: Message, key: str) -> str:
        """Classify, match and act; returns the outcome word counted in the report."""
        found = classify(msg, unsubscribe_addresses=frozenset(self.lists.mailto))
        if found.kind is Kind.UNSUBSCRIBE:
            return self._unsubscribe(msg, found.sender, found.to)
        if found.bounce is None or found.kind in (Kind.AUTOREPLY, Kind.OTHER):
            return "autoreply" if found.kind is Kind.AUTOREPLY else "ignored"
        if found.kind is Kind.ABOUT_MESSAGE:
            return "refused for content"
        targets = self.matcher.targets(found.bounce, found.to, self.config.lists)
        if not targets:
            return "unmatched bounce"
        for target in targets:
            self.actions.bounce(key, target, found.kind, found.bounce, self.cfg.soft_bounce_limit)
        return found.kind.value

    def _unsubscribe(self, msg: Message, sender: str, to: tuple[str, ...]) -> str:
        done = False
        for address in to:
            for list_key, explicit in self.lists.mailto.get(address, []):
                if not explicit and not asks_to_unsubscribe(msg):
                    continue
                if sender.casefold() in self.lists.members(list_key):
                    self.actions.unsubscribe(list_key, sender)
                    done = True
        return "unsubscribe" if done else "not a subscriber"


def _read_some(items: Iterator[InboxItem]) -> list[InboxItem]:
    """The next few messages (:data:`READ_MESSAGES`, :data:`READ_BYTES`), in one thread call."""
    out: list[InboxItem] = []
    size = 0
    for item in items:
        out.append(item)
        size += len(item.data)
        if len(out) >= READ_MESSAGES or size >= READ_BYTES:
            break
    return out
