"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, STARTTLS and AUTH, with fault injection.

The server runs its own event loop in a thread, so it serves the code under test whether that
runs in the test's event loop or in a subprocess. Faults are chosen by markers in the
recipient's local part, so one subscriber file can mix good and bad addresses:

- ``tempfail451``  451 4.3.0 to RCPT the first ``tempfail_times`` times, then accepted
- ``reject550``    550 5.7.1 to RCPT, always
- ``user-unknown`` 550 5.1.1 to RCPT, always
- ``dropdata``     the connection is closed after the body arrives, before the reply, once
- ``reject-data``  554 5.6.0 to the end of data, always

``close_after`` answers 421 to the MAIL of the n-th + 1 transaction of a connection and closes
it; ``delay`` sleeps before every end-of-data reply (a slow relay, so a test can kill a
sender mid-way); ``refuse_all`` makes a relay that is up but takes nothing: it greets, then
answers 421 to every command. Every accepted message lands in :attr:`SmtpTestServer.received`.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USERNAME = "digest"
PASSWORD = "s3cret-for-tests"
PASSWORD_ENV = {"DIGESTMAIL_TEST_SMTP_PASSWORD": PASSWORD}
"""What a ``digestmail`` run needs in its environment to log in (see ``smtp_config``)."""


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    def parse(self) -> EmailMessage:
        message = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class Faults:
    tempfail_times: int = 2
    close_after: int = 0
    delay: float = 0.0
    pipelining: bool = True
    """Announce PIPELINING (aiosmtpd reads pipelined commands in order but does not say so)."""
    hold: threading.Event | None = None
    """Once one message is in, later DATA commands wait until this is set (a send held open)."""
    refuse_relay: bool = False
    """``554 5.7.1 Relay access denied`` to every RCPT: a relay that does not relay for us."""
    refuse_sender: bool = False
    """``553 5.7.1`` to every MAIL FROM: an account that may not send as the list's address."""
    refuse_all: bool = False
    """220, then ``421 4.3.2`` to every command (EHLO included): a relay that is overloaded."""


class _RefuseAll(asyncio.Protocol):
    """A relay that answers but takes nothing: the greeting, then 421 to every line."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 test.smtp.local ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        for _ in range(data.count(b"\n")):
            self.transport.write(b"421 4.3.2 service not available, try later\r\n")


@dataclass
class _Handler:
    faults: Faults
    received: list[Received] = field(default_factory=list)
    tries: dict[str, int] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)
    per_session: dict[int, int] = field(default_factory=dict)
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        if self.faults.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        done = self.per_session.get(id(session), 0)
        if self.faults.close_after and done >= self.faults.close_after:
            transport = server.transport
            assert transport is not None
            asyncio.get_running_loop().call_soon(transport.close)
            return "421 4.3.2 closing connection, too many messages"
        if self.faults.refuse_sender:
            return f"553 5.7.1 <{address}>: Sender address rejected: not owned by user"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        local = address.partition("@")[0]
        with self.lock:
            seen = self.tries.get(address, 0)
            self.tries[address] = seen + 1
        if self.faults.refuse_relay:
            return f"554 5.7.1 <{address}>: Relay access denied"
        if "reject550" in local:
            return "550 5.7.1 rejected by policy"
        if "user-unknown" in local:
            return "550 5.1.1 <" + address + ">: user unknown"
        if "tempfail451" in local and seen < self.faults.tempfail_times:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.faults.delay:
            await asyncio.sleep(self.faults.delay)
        while self.faults.hold is not None and self.received and not self.faults.hold.is_set():
            await asyncio.sleep(0.01)
        rcpt = envelope.rcpt_tos[0] if envelope.rcpt_tos else ""
        local = rcpt.partition("@")[0]
        if "reject-data" in local:
            return "554 5.6.0 message content rejected"
        if "dropdata" in local and rcpt not in self.dropped:
            self.dropped.add(rcpt)
            assert server.transport is not None
            server.transport.close()
            return "451 never seen: the connection is already closed"
        content = envelope.original_content or envelope.content
        assert isinstance(content, bytes)
        with self.lock:
            sender = envelope.mail_from or ""
            self.received.append(Received(sender, tuple(envelope.rcpt_tos), content))
            self.per_session[id(session)] = self.per_session.get(id(session), 0) + 1
        return "250 2.0.0 queued"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


class SmtpTestServer:
    """Start with :meth:`start`; ``port``, ``ca_file`` and ``received`` describe what happened."""

    def __init__(
        self,
        directory: Path,
        *,
        faults: Faults | None = None,
        starttls: bool = True,
        implicit_tls: bool = False,
        auth: bool = True,
    ) -> None:
        self.faults = faults or Faults()
        self.handler = _Handler(self.faults)
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = directory / "test-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self._tls)
        self._starttls = starttls
        self._implicit = implicit_tls
        self._auth = auth
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    @property
    def connections(self) -> int:
        return self.handler.connections

    def _factory(self) -> asyncio.Protocol:
        self.handler.connections += 1
        if self.faults.refuse_all:
            return _RefuseAll()
        return SMTP(
            self.handler,
            hostname="test.smtp.local",
            tls_context=self._tls if self._starttls and not self._implicit else None,
            require_starttls=self._starttls and not self._implicit,
            authenticator=_authenticate if self._auth else None,
            auth_required=self._auth,
            # aiosmtpd only counts STARTTLS as TLS; implicit TLS is encrypted all along.
            auth_require_tls=not self._implicit,
            data_size_limit=None,
            loop=self._loop,
        )

    def start(self) -> SmtpTestServer:
        self._thread.start()
        coro = self._loop.create_server(
            self._factory,
            host="127.0.0.1",
            port=0,
            ssl=self._tls if self._implicit else None,
        )
        self._server = asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        server = self._server

        async def shut() -> None:
            if server is not None:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shut(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def recipients(self) -> list[str]:
        """Envelope recipient of every accepted message, in arrival order (with repeats)."""
        return [r for msg in self.received for r in msg.rcpt_tos]

    def _relay_values(self) -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "security": "tls" if self._implicit else ("starttls" if self._starttls else "none"),
            "username": USERNAME if self._auth else "",
            "password_env": "DIGESTMAIL_TEST_SMTP_PASSWORD",
            "ca_file": str(self.ca_file),
        }

    def smtp_config(self, **overrides: Any) -> str:
        """The ``[smtp]`` TOML table that points digestmail at this server."""
        values = self._relay_values() | {"connections": 4, "timeout": 10, "retry_max_delay": 0.05}
        return toml_table("[smtp]", values | overrides)

    def relay_config(self, **overrides: Any) -> str:
        """One ``[[smtp.relays]]`` entry for this server (after a ``[smtp]`` table, if any)."""
        return toml_table("[[smtp.relays]]", self._relay_values() | {"connections": 2} | overrides)


def toml_table(header: str, values: dict[str, Any]) -> str:
    """``header`` and one ``key = value`` line per item (strings quoted, booleans lower case)."""
    lines = [header]
    for key, value in values.items():
        if isinstance(value, bool):
            lines.append(f"{key} = {'true' if value else 'false'}")
        elif isinstance(value, str):
            lines.append(f'{key} = "{value}"')
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines) + "\n"
