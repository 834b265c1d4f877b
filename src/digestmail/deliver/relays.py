"""Several relays behind one send: their share of the connections, and resting a failing one.

``[[smtp.relays]]`` lists relays; :class:`RelayPool` is the transport made of them (and of
the single ``[smtp]`` table, as one relay). A send asks :func:`relays_for` for the run's
:class:`Relay` states: one per relay, or one unnamed relay for any other transport (the
Maildir, a test's), so the workers follow one set of rules whatever they send through.

- **Shares.** Every relay gets ``connections`` workers, of which :meth:`Relays.active` may
  take messages: as many as the weights allow, ``weight * s`` with ``s`` the largest scale
  that keeps every relay within its ``connections``. With the default weights (each relay's
  ``connections``) every worker works. While a relay rests, the shares are worked out over
  the others, so they may use more of their own connections.
- **Rest.** A relay that refuses a connection rests (its workers take nothing) for a backoff
  that doubles from 1 s up to ``smtp.retry_max_delay`` (at least 1 s), and the message goes
  back to the shared queue untried, for another relay. With more than one relay, a run of
  :data:`TROUBLE_RUN` temporary failures (421, a dropped session, 4xx) with no message
  accepted in between rests it too; a lone relay has nowhere else to send, so there each
  message simply waits for its own retry, as before several relays existed.
- **Giving up.** When every relay has failed :attr:`SmtpConfig.max_attempts` connections in
  a row, the run ends with the last error (exit 75), as one relay's workers always did. A
  relay that refuses the credentials or the certificate is out for the run (exit 2 only if
  it was the last one).

Whether a message went out is never decided here: a relay's rest only ever moves messages
that were not handed to it, and a deferred message is retried under the usual rules (the
uncertain "connection lost after the final dot" included), on whichever relay takes it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from digestmail.config import RelayConfig, SmtpConfig
from digestmail.deliver.ratelimit import TokenBucket
from digestmail.deliver.retry import backoff_delay
from digestmail.deliver.transports.base import Connection, Transport
from digestmail.deliver.transports.smtp import SmtpTransport
from digestmail.errors import TransportError, TransportSetupError

REST_CAP_FLOOR = 1.0
"""The rest's backoff is capped at ``smtp.retry_max_delay`` but never below this: with a cap
of 0 a refused relay's workers would take, bounce and take messages back again in a tight
loop, and starve the relays that work (a rest is then at least half a second)."""

TROUBLE_RUN = 3
"""Temporary failures in a row (with no message accepted between) that rest one of several
relays: a relay whose every answer is "later" is resting in all but name."""


SINGLE_REST = 30.0
"""Seconds a relay that refused a single message's connection is tried last (then doubling)."""
SINGLE_REST_CAP = 900.0


@dataclass(frozen=True, slots=True)
class Member:
    """One relay of a pool: its name (what the ledger records), transport and limits."""

    name: str
    transport: Transport
    connections: int
    weight: int
    rate: float


class RelayPool:
    """The SMTP relays of ``[smtp]`` / ``[[smtp.relays]]`` as one transport.

    A send uses the members one by one (see :func:`relays_for`); :meth:`connect` serves the
    callers that send one message (a sign-up's confirmation mail): the heaviest relay that
    answers.
    """

    def __init__(self, members: Sequence[Member]) -> None:
        if not members:
            raise ValueError("a relay pool needs at least one relay")
        self.members = tuple(members)
        self._resting: dict[str, tuple[float, int]] = {}
        """Per relay that refused :meth:`connect`: until when it is tried last, and strikes."""

    @classmethod
    def from_config(cls, cfg: SmtpConfig) -> RelayPool:
        return cls([_member(relay) for relay in cfg.relay_list()])

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.members)

    @property
    def max_connections(self) -> int:
        return sum(m.connections for m in self.members)

    async def connect(self) -> Connection:
        """A connection to the heaviest relay that takes one; the last error when none does.

        A relay that refused is tried last for a while (:data:`SINGLE_REST`, doubling to
        :data:`SINGLE_REST_CAP`): ``serve`` mails a confirmation per sign-up, and a relay that
        is down must not hold up each of them for a connect timeout.
        """
        now = time.monotonic()
        resting = self._resting

        def order(m: Member) -> tuple[bool, int]:
            return (m.name in resting and resting[m.name][0] > now, -m.weight)

        error: TransportError | None = None
        for member in sorted(self.members, key=order):
            try:
                connection = await member.transport.connect()
            except TransportError as exc:
                error = exc
                until, strikes = resting.get(member.name, (0.0, 0))
                if until <= time.monotonic():  # mails failing together during one rest: one strike
                    strikes += 1
                    pause = min(SINGLE_REST * 2 ** (strikes - 1), SINGLE_REST_CAP)
                    resting[member.name] = (time.monotonic() + pause, strikes)
                continue
            resting.pop(member.name, None)
            return connection
        assert error is not None
        raise error


def _member(relay: RelayConfig) -> Member:
    return Member(
        name=relay.name,
        transport=SmtpTransport(relay),
        connections=relay.connections,
        weight=relay.share,
        rate=relay.rate_per_second,
    )


@dataclass(eq=False)
class Relay:
    """One relay during one run: its workers, rate limit, rest and what it accepted."""

    name: str | None
    """None for a transport that is no relay (the Maildir): nothing is recorded per relay."""
    transport: Transport
    workers: int
    weight: int
    bucket: TokenBucket
    strikes: int = 0
    """Rests since the relay last accepted a message: the backoff of the next rest grows."""
    failed_connects: int = 0
    """Connections refused in a row; at ``max_attempts`` the relay counts as down."""
    trouble: int = 0
    """Temporary failures since the last accepted message."""
    resting_until: float = 0.0
    out: bool = False
    """Refused the credentials or the certificate: no use trying again in this run."""
    sent: int = 0
    problem: str = ""
    """The last reason it rested or dropped out, for the summary."""

    def resting(self, now: float) -> bool:
        return self.out or now < self.resting_until


@dataclass(eq=False)
class Relays:
    """The relays of one run and the rules that move work between them."""

    members: tuple[Relay, ...]
    max_attempts: int
    retry_max_delay: float
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    """Set and replaced whenever a relay starts resting or drops out: waiting workers look
    again at their share."""

    @property
    def workers(self) -> int:
        return sum(r.workers for r in self.members)

    @property
    def named(self) -> bool:
        """Real relays (SMTP), whose names the ledger records."""
        return any(r.name is not None for r in self.members)

    def active(self, relay: Relay, now: float) -> int:
        """How many of ``relay``'s workers may take messages now (0 while it rests)."""
        if relay.resting(now):
            return 0
        working = [r for r in self.members if not r.resting(now)]
        scale = min(r.workers / r.weight for r in working)
        return max(1, min(relay.workers, round(scale * relay.weight)))

    def wait_time(self, relay: Relay, now: float) -> float | None:
        """Seconds until the relay's rest ends; None when only a change can help."""
        if relay.out:
            return None
        return max(0.0, relay.resting_until - now) if relay.resting_until > now else None

    def wake(self) -> None:
        """Let every waiting worker look again (a relay rests, the run ends)."""
        self.changed.set()
        self.changed = asyncio.Event()

    def rest(self, relay: Relay, reason: str) -> None:
        """Take the relay out of the rotation for a backoff that grows with each rest."""
        now = time.monotonic()
        if relay.resting(now):
            return  # another of its workers saw the same failure: one rest, one strike
        relay.strikes += 1
        relay.trouble = 0
        relay.problem = reason
        cap = max(self.retry_max_delay, REST_CAP_FLOOR)
        relay.resting_until = now + backoff_delay(relay.strikes, cap=cap)
        self.wake()

    def connect_failed(self, relay: Relay, exc: TransportError) -> bool:
        """Rest a relay that refused a connection; True when every relay is now down."""
        if isinstance(exc, TransportSetupError):
            relay.out = True
            relay.problem = str(exc)
            self.wake()
        elif not relay.resting(time.monotonic()):
            relay.failed_connects += 1
            self.rest(relay, str(exc))
        return all(r.out or r.failed_connects >= self.max_attempts for r in self.members)

    def connected(self, relay: Relay) -> None:
        relay.failed_connects = 0

    def accepted(self, relay: Relay) -> None:
        relay.sent += 1
        relay.strikes = relay.trouble = 0

    def deferred(self, relay: Relay, reason: str) -> None:
        """A temporary failure on ``relay``; a run of them rests it while others can work."""
        relay.trouble += 1
        if relay.trouble >= TROUBLE_RUN and len(self.members) > 1:
            self.rest(relay, reason)

    def notes(self) -> tuple[str, ...]:
        """What went wrong with relays in this run, one line each, for the summary."""
        return tuple(
            f"relay {r.name}: {'out of this run' if r.out else 'rested'}: {r.problem}"
            for r in self.members
            if r.problem and r.name is not None
        )


def relays_for(transport: Transport, cfg: SmtpConfig) -> Relays:
    """The run's relays: the members of a pool, or ``transport`` as one unnamed relay."""
    if isinstance(transport, RelayPool):
        members = tuple(
            Relay(
                name=m.name,
                transport=m.transport,
                workers=max(1, m.connections),
                weight=max(1, m.weight),
                bucket=TokenBucket(m.rate),
            )
            for m in transport.members
        )
    else:
        workers = max(1, transport.max_connections)
        members = (
            Relay(
                name=None,
                transport=transport,
                workers=workers,
                weight=workers,
                bucket=TokenBucket(cfg.rate_per_second),
            ),
        )
    return Relays(members, max_attempts=cfg.max_attempts, retry_max_delay=cfg.retry_max_delay)
