"""Who is asking: the client's IP behind a trusted proxy, and how often they may sign up.

``X-Forwarded-For`` is believed only from the proxies in ``web.trusted_proxies``: anyone else
could write any address there and dodge the per-IP limit. The limits are sliding windows kept
in memory (one serve process per ledger is the documented setup); they bound how many
confirmation mails a stranger can make serve send, which is all a sign-up form can be abused for.
"""

from __future__ import annotations

import hashlib
import ipaddress
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

PER_IP_PER_HOUR = 30
"""Confirmation requests per client IP and hour (the issue's figure; not configurable)."""

MAX_TRACKED = 100_000
"""Keys a limiter remembers; the least recently used is forgotten first, so memory is bounded
even under a flood of distinct addresses."""


def parse_networks(items: Sequence[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in items)


def _in(networks: Sequence[Network], host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def client_ip(peer: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The client's address: the peer, or for a trusted proxy the last untrusted hop it saw.

    ``X-Forwarded-For`` is read from the right, because each proxy appends the address it got
    the request from; the first hop from the right that is not a trusted proxy is the client.
    """
    host = peer or ""
    if not forwarded_for or not _in(trusted, host):
        return host
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _in(trusted, hop):
            return hop
    return hops[0] if hops else host


def log_key(secret: str) -> bytes:
    """The key of :func:`fingerprint`, derived from the secret so it is stable across restarts."""
    return hashlib.blake2b(secret.encode("utf-8"), digest_size=32, person=b"dm-log-key").digest()


def fingerprint(value: str, key: bytes) -> str:
    """A short keyed hash for logs: follows one reader through the log, but unlike a plain
    hash it cannot be reversed by hashing a list of known addresses without the secret."""
    return hashlib.blake2b(value.encode("utf-8"), digest_size=6, key=key).hexdigest()


class SlidingLimit:
    """At most ``limit`` events per key within ``window`` seconds."""

    def __init__(
        self, limit: int, window: float = 3600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        """Count one event for ``key`` if it is within the limit; False (not counted) if not."""
        now = self._clock()
        events = self._events.pop(key, None) or deque()
        while events and events[0] <= now - self.window:
            events.popleft()
        allowed = len(events) < self.limit
        if allowed:
            events.append(now)
        if events:
            self._events[key] = events
            while len(self._events) > MAX_TRACKED:
                self._events.popitem(last=False)
        return allowed
